#!/bin/sh
# Role of this container: ctl (slurmctld), node (slurmd), login (sshd). The munge key and, for the
# login node, the authorized key are copied to /cfg by the test before start.
set -e
install -o munge -g munge -m 0400 /cfg/munge.key /etc/munge/munge.key
mkdir -p /run/munge /var/spool/slurmctld /var/spool/slurmd
chown munge:munge /run/munge
su -s /bin/sh munge -c /usr/sbin/munged
case "$1" in
  ctl) exec slurmctld -D ;;
  node) exec slurmd -D -N "$(hostname)" ;;
  login)
    install -d -o hpc -g hpc -m 0755 /home/hpc
    install -d -o hpc -g hpc -m 0700 /home/hpc/.ssh
    install -o hpc -g hpc -m 0600 /cfg/authorized_keys /home/hpc/.ssh/authorized_keys
    mkdir -p /run/sshd
    exec /usr/sbin/sshd -D -e ;;
  *) echo "unknown role $1" >&2; exit 2 ;;
esac
