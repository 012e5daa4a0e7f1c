#!/usr/bin/env bash
# Usage: scripts/kube-build.sh [--check]
# Makes sure the Kubernetes 1.20 binaries (kube-apiserver, kube-scheduler, kube-controller-manager,
# kubectl) exist in $KUBE_BIN (default /var/cache/hpc-bridge/kube-1.20/bin) and prints that
# directory. Builds them from Debian's "kubernetes" source package when missing (5-10 min on two
# cores); concurrent callers wait for one build instead of starting their own.
# --check: only tell (exit status) whether the binaries are there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KUBE_BIN=${KUBE_BIN:-$HPCB_CACHE/kube-1.20/bin}
BINS=(kube-apiserver kube-scheduler kube-controller-manager kubectl)

have_all() {
  local b
  for b in "${BINS[@]}"; do [ -x "$KUBE_BIN/$b" ] || return 1; done
}

if [ "${1:-}" = --check ]; then
  have_all
  exit
fi
if have_all; then
  echo "$KUBE_BIN"
  exit 0
fi

need_root
mkdir -p "$(dirname "$KUBE_BIN")"
exec 9>"$(dirname "$KUBE_BIN")/.build.lock"
if ! flock -n 9; then
  note "another build of the Kubernetes binaries is running; waiting for it"
  flock 9
fi
if have_all; then # built by the holder of the lock
  echo "$KUBE_BIN"
  exit 0
fi

work=$(mktemp -d /var/tmp/hpc-bridge-kube-build.XXXXXX)
log=$(dirname "$KUBE_BIN")/build.log
trap 'rm -rf "$work"' EXIT
note "building Kubernetes 1.20 binaries from the Debian source package (log: $log)"
HPCB_APT_LOG=$log
: >"$log"
enable_deb_src
apt_install golang-go rsync make curl ca-certificates
apt_update # picks up the deb-src entry
{
  cd "$work"
  retry 3 apt-get source --download-only kubernetes
  tar xzf kubernetes_*.orig.tar.gz
  cd kubernetes-*/
  # No network needed from here: the source package vendors every Go dependency.
  make WHAT="cmd/kube-apiserver cmd/kube-scheduler cmd/kube-controller-manager cmd/kubectl"
} >>"$log" 2>&1 || die "building Kubernetes failed (log: $log)"

out=$(echo "$work"/kubernetes-*/_output/local/bin/linux/*/)
rm -rf "$KUBE_BIN.new"
mkdir -p "$KUBE_BIN.new"
for b in "${BINS[@]}"; do cp "$out/$b" "$KUBE_BIN.new/"; done
rm -rf "$KUBE_BIN"
mv "$KUBE_BIN.new" "$KUBE_BIN"
note "Kubernetes binaries ready in $KUBE_BIN"
echo "$KUBE_BIN"
