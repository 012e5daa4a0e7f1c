#!/usr/bin/env bash
# Usage: scripts/dockerd-down.sh [DIR]   (default DIR: /tmp/hpc-bridge-it/docker)
# Stops the Docker daemons that dockerd-up.sh started from DIR, unless another test run still
# uses them (it holds a shared lock on /run/lock/hpc-bridge-docker.users). Data and images stay.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-/tmp/hpc-bridge-it/docker}
[ -d "$DIR" ] || exit 0
mkdir -p /run/lock
exec 7>/run/lock/hpc-bridge-docker.users
if ! flock -n -x 7; then
  note "Docker daemons left running: another test run uses them"
  exit 0
fi
exec 8>/run/lock/hpc-bridge-dockerd.lock
flock 8
for name in dockerd dockerd2; do
  [ -f "$DIR/$name.started" ] || continue
  stop_pid "$(cat "$DIR/$name.started")" dockerd 30 &
done
wait
rm -f "$DIR"/*.started
