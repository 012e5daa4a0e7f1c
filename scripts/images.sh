#!/usr/bin/env bash
# Usage: scripts/images.sh [DOCKER_HOST...]
#        (default: unix:///var/run/docker.sock unix:///run/hpc-bridge/docker2/docker.sock)
#
# Makes the test images without any image registry and loads them into each daemon that lacks
# them, then checks that each daemon runs a container:
#   local/busybox:1   Debian's busybox-static with all applets linked, /tmp, /etc/passwd
#   debian:bookworm   debootstrap --variant=minbase from the configured Debian archive
# The root file systems are cached as tarballs in /var/cache/hpc-bridge/images, so only the
# first run on a machine pays for debootstrap (about a minute).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

IMAGES=$HPCB_CACHE/images
HOSTS=("$@")
[ ${#HOSTS[@]} -gt 0 ] || HOSTS=(unix:///var/run/docker.sock unix:///run/hpc-bridge/docker2/docker.sock)
DOCKER=/usr/bin/docker
PATH_ENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

need_root
mkdir -p "$IMAGES"
exec 9>"$IMAGES/.lock"
flock 9 # one builder at a time; the others then find the tarballs

busybox_tar() {
  local tar=$IMAGES/busybox-1.tar root
  [ -s "$tar" ] && return 0
  apt_install busybox-static
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,etc,root,tmp,home,var/tmp}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local a
  for a in $("$root/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar --numeric-owner -C "$root" -cf "$tar.tmp" .
  rm -rf "$root"
  mv "$tar.tmp" "$tar"
}

debian_tar() {
  local tar=$IMAGES/debian-bookworm.tar root log=$IMAGES/debootstrap.log
  [ -s "$tar" ] && return 0
  apt_install debootstrap
  note "debootstrap bookworm (once per machine; log: $log)"
  root=$(mktemp -d /var/tmp/hpc-bridge-debian.XXXXXX)
  retry 2 debootstrap --variant=minbase bookworm "$root" "$(debian_mirror)" >"$log" 2>&1 ||
    die "debootstrap failed (log: $log)"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar --numeric-owner -C "$root" -cf "$tar.tmp" .
  rm -rf "$root"
  mv "$tar.tmp" "$tar"
}

busybox_tar
debian_tar

for host in "${HOSTS[@]}"; do
  d=("$DOCKER" -H "$host")
  "${d[@]}" version >/dev/null 2>&1 || die "no Docker daemon answers on $host (run scripts/dockerd-up.sh)"
  if ! "${d[@]}" image inspect local/busybox:1 >/dev/null 2>&1; then
    "${d[@]}" import -c "ENV $PATH_ENV" -c 'CMD ["sh"]' "$IMAGES/busybox-1.tar" local/busybox:1 >/dev/null ||
      die "importing local/busybox:1 into $host failed"
  fi
  if ! "${d[@]}" image inspect debian:bookworm >/dev/null 2>&1; then
    "${d[@]}" import -c "ENV $PATH_ENV" -c 'CMD ["bash"]' "$IMAGES/debian-bookworm.tar" debian:bookworm >/dev/null ||
      die "importing debian:bookworm into $host failed"
  fi
  out=$("${d[@]}" run --rm local/busybox:1 echo ok 2>&1) && [ "$out" = ok ] ||
    die "$host cannot run a container: $out"
done
