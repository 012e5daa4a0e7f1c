#!/usr/bin/env bash
# Usage: scripts/kube-down.sh [--purge] [DIR]   (default DIR: $KUBE_DIR or /tmp/hpc-bridge-it/kube)
# Stops the control plane kube-up.sh started in DIR (SIGTERM, SIGKILL after 15 s). Data,
# certificates and logs stay, so kube-up.sh DIR restarts the same cluster; --purge deletes DIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

purge=0
if [ "${1:-}" = --purge ]; then
  purge=1
  shift
fi
DIR=${1:-${KUBE_DIR:-/tmp/hpc-bridge-it/kube}}
[ -d "$DIR" ] || exit 0
exec 8>"$DIR/.lock"
flock 8
# All at once: each takes 1-3 s to shut down cleanly.
stop_pid "$DIR/controller-manager.pid" kube-controller-manager &
stop_pid "$DIR/scheduler.pid" kube-scheduler &
stop_pid "$DIR/apiserver.pid" kube-apiserver &
stop_pid "$DIR/etcd.pid" etcd &
wait
if [ "$purge" = 1 ]; then
  rm -rf "$DIR"
fi
