#!/usr/bin/env bash
# Usage: scripts/kube-up.sh [DIR]      (default DIR: $KUBE_DIR or /tmp/hpc-bridge-it/kube)
#
# Starts a real single-host Kubernetes 1.20 control plane on 127.0.0.1: etcd (Debian's
# etcd-server), kube-apiserver, kube-scheduler and kube-controller-manager (built once from
# Debian's kubernetes source package by kube-build.sh). Prints the path of DIR/admin.kubeconfig.
#
# DIR receives pki/ (ca.crt, ca.key, apiserver, admin, kubelet-client, scheduler,
# controller-manager, sa.key/sa.pub), *.kubeconfig, etcd/ (data), logs/, *.pid and kube.env
# (KUBECONFIG, KUBECTL, ports; shell syntax). Idempotent: a running control plane in DIR is left
# as it is; a stopped one is restarted with its data. KUBE_FRESH=1 (re)starts it with an empty etcd.
#
# Ports (env; a default that is busy is replaced by a free port, and the choice is kept in
# kube.env for restarts): KUBE_APISERVER_PORT (6443), KUBE_ETCD_PORT (2379),
# KUBE_ETCD_PEER_PORT (2380), KUBE_SCHEDULER_PORT (10259), KUBE_CONTROLLER_MANAGER_PORT (10257).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-${KUBE_DIR:-/tmp/hpc-bridge-it/kube}}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
[[ $DIR =~ ^[A-Za-z0-9/._-]+$ ]] || die "DIR must be a plain path (letters, digits, / . _ -): $DIR"
mkdir -p "$DIR/logs" "$DIR/pki"
exec 8>"$DIR/.lock"
flock 8 # one kube-up/kube-down at a time per DIR

KUBE_BIN=$("$HPCB_SCRIPTS/kube-build.sh")
command -v etcd >/dev/null && command -v openssl >/dev/null && command -v curl >/dev/null ||
  apt_install etcd-server openssl curl
KUBECONFIG_OUT=$DIR/admin.kubeconfig
PKI=$DIR/pki
COMPONENTS=(etcd apiserver scheduler controller-manager)
declare -A CMD=([etcd]=etcd [apiserver]=kube-apiserver [scheduler]=kube-scheduler
  [controller-manager]=kube-controller-manager)

ENV_PORTS=" ${KUBE_APISERVER_PORT:+KUBE_APISERVER_PORT} ${KUBE_ETCD_PORT:+KUBE_ETCD_PORT} ${KUBE_ETCD_PEER_PORT:+KUBE_ETCD_PEER_PORT} ${KUBE_SCHEDULER_PORT:+KUBE_SCHEDULER_PORT} ${KUBE_CONTROLLER_MANAGER_PORT:+KUBE_CONTROLLER_MANAGER_PORT} "

saved() { if [ -f "$DIR/kube.env" ]; then sed -n "s/^$1=//p" "$DIR/kube.env" | tail -n 1; fi; }
apiserver_ready() {
  curl -fsS --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$(saved KUBE_APISERVER_PORT)/readyz" >/dev/null 2>&1
}
all_running() {
  local c
  for c in "${COMPONENTS[@]}"; do live_pid "$DIR/$c.pid" "${CMD[$c]}" >/dev/null || return 1; done
  apiserver_ready
}
stop_all() {
  local c
  for c in "${COMPONENTS[@]}"; do stop_pid "$DIR/$c.pid" "${CMD[$c]}" "$1" & done
  wait
}

if [ "${KUBE_FRESH:-0}" != 1 ] && [ -f "$KUBECONFIG_OUT" ] && [ -f "$DIR/kube.env" ] && all_running; then
  echo "$KUBECONFIG_OUT"
  exit 0
fi
stop_all 15 # whatever is left of an earlier start

# --- certificates -------------------------------------------------------------------------
# ca NAME CN : a self-signed CA.
ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.crt" -days 3650 \
    -sha256 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null ||
    die "openssl could not create the CA $PKI/$1.crt"
}
# cert NAME CN O USAGE [SANS] [CA]: a key and a certificate signed by the cluster CA (or CA).
cert() {
  local name=$1 cn=$2 o=$3 usage=$4 sans=${5:-} ca=${6:-ca}
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -out "$PKI/$name.csr" \
    -subj "/CN=$cn${o:+/O=$o}" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}
pki_complete() {
  local f
  for f in ca apiserver admin kubelet-client scheduler controller-manager front-proxy-ca front-proxy-client; do
    [ -s "$PKI/$f.crt" ] && [ -s "$PKI/$f.key" ] || return 1
  done
  [ -s "$PKI/sa.key" ] && [ -s "$PKI/sa.pub" ]
}
if ! pki_complete; then
  rm -f "$PKI"/*
  ca ca hpc-bridge-test-ca
  cert apiserver kube-apiserver "" serverAuth \
    "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin admin system:masters clientAuth
  # The apiserver's client certificate towards kubelets (kubectl logs/exec go through it).
  cert kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
  cert scheduler system:kube-scheduler "" clientAuth
  cert controller-manager system:kube-controller-manager "" clientAuth
  # Aggregation layer (front proxy): lets delegated authentication in the scheduler and the
  # controller-manager find a request-header CA instead of logging errors about it.
  ca front-proxy-ca hpc-bridge-test-front-proxy-ca
  cert front-proxy-client front-proxy-client "" clientAuth "" front-proxy-ca
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
fi

# --- ports and configuration -------------------------------------------------------------
# pick_port VAR DEFAULT FRESH : a port given in the environment (must be free) > the one kept in
# kube.env > DEFAULT > any free port. FRESH=1 (after a lost race for a port) skips the middle two.
pick_port() {
  local var=$1 def=$2 fresh=$3 p=
  if [[ $ENV_PORTS == *" $var "* ]]; then
    p=${!var}
    if port_busy "$p"; then die "$var=$p is already in use"; fi
  else
    [ "$fresh" = 1 ] || p=$(saved "$var")
    if [ -z "$p" ] || port_busy "$p"; then
      p=$def
      if [ "$fresh" = 1 ] || port_busy "$p"; then p=$(free_port); fi
    fi
  fi
  printf -v "$var" '%s' "$p"
}
# Kubeconfigs carry the certificates inline, so they stay valid wherever they are copied.
b64() { base64 -w0 <"$1"; }
kubeconfig() {
  cat >"$DIR/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: hpc-bridge-test
  cluster:
    server: https://127.0.0.1:$KUBE_APISERVER_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(b64 "$PKI/$1.crt")
    client-key-data: $(b64 "$PKI/$1.key")
contexts:
- name: $1@hpc-bridge-test
  context:
    cluster: hpc-bridge-test
    user: $1
current-context: $1@hpc-bridge-test
EOF
  chmod 600 "$DIR/$1.kubeconfig"
}
configure() { # configure FRESH : choose ports, write kubeconfigs and kube.env
  pick_port KUBE_APISERVER_PORT 6443 "$1"
  pick_port KUBE_ETCD_PORT 2379 "$1"
  pick_port KUBE_ETCD_PEER_PORT 2380 "$1"
  pick_port KUBE_SCHEDULER_PORT 10259 "$1"
  pick_port KUBE_CONTROLLER_MANAGER_PORT 10257 "$1"
  local ports=("$KUBE_APISERVER_PORT" "$KUBE_ETCD_PORT" "$KUBE_ETCD_PEER_PORT" "$KUBE_SCHEDULER_PORT" "$KUBE_CONTROLLER_MANAGER_PORT")
  [ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" = 5 ] || die "the five control plane ports must differ: ${ports[*]}"
  kubeconfig admin
  kubeconfig scheduler
  kubeconfig controller-manager
  cat >"$DIR/kube.env" <<EOF
KUBECONFIG=$KUBECONFIG_OUT
KUBECTL=$KUBE_BIN/kubectl
KUBE_BIN=$KUBE_BIN
KUBE_DIR=$DIR
KUBE_APISERVER_URL=https://127.0.0.1:$KUBE_APISERVER_PORT
KUBE_CA_CERT=$PKI/ca.crt
KUBE_CA_KEY=$PKI/ca.key
KUBE_APISERVER_PORT=$KUBE_APISERVER_PORT
KUBE_ETCD_PORT=$KUBE_ETCD_PORT
KUBE_ETCD_PEER_PORT=$KUBE_ETCD_PEER_PORT
KUBE_SCHEDULER_PORT=$KUBE_SCHEDULER_PORT
KUBE_CONTROLLER_MANAGER_PORT=$KUBE_CONTROLLER_MANAGER_PORT
EOF
}

# --- processes ----------------------------------------------------------------------------
start() { # start COMPONENT CMD...
  local c=$1
  shift
  echo "--- $(date -Is) $*" >>"$DIR/logs/$c.log"
  spawn "$DIR/logs/$c.log" "$@" >"$DIR/$c.pid"
}
last_run() { sed -n '/^--- /h; /^--- /!H; ${x;p}' "$DIR/logs/$1.log"; } # log of the latest start
healthy() { curl -fsSk --max-time 2 "https://127.0.0.1:$1/healthz"; }
# await SECONDS COMPONENT PORT CMD... : until CMD succeeds and the component itself listens on
# PORT (not some other process that took the port first). Returns 2 when the port was taken.
await() {
  local t=$1 c=$2 port=$3 i pid log=$DIR/logs/$2.log
  shift 3
  for ((i = 0; i < t * 5; i++)); do
    # The pid may still be the shell that is about to exec the component: judge it by
    # liveness only; the name is checked by owns_port below, once it answers.
    pid=$(cat "$DIR/$c.pid" 2>/dev/null) || pid=
    if ! [[ $pid =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
      last_run "$c" | grep -q 'address already in use' && return 2
      last_run "$c" | tail -n 15 | sed 's/^/  | /' >&2
      stop_all 5
      die "${CMD[$c]} exited during start (log: $log)"
    fi
    if "$@" >/dev/null 2>&1 && owns_port "$pid" "$port"; then return 0; fi
    sleep 0.2
  done
  last_run "$c" | tail -n 15 | sed 's/^/  | /' >&2
  stop_all 5
  die "${CMD[$c]} not ready after ${t}s (log: $log)"
}

launch() { # returns 2 when a port was taken by another process meanwhile
  local peer=http://127.0.0.1:$KUBE_ETCD_PEER_PORT client=http://127.0.0.1:$KUBE_ETCD_PORT
  start etcd etcd --name default --data-dir "$DIR/etcd" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" --initial-cluster "default=$peer"
  await 30 etcd "$KUBE_ETCD_PORT" curl -fsS --max-time 2 "$client/health" || return

  start apiserver "$KUBE_BIN/kube-apiserver" \
    --etcd-servers="$client" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$KUBE_APISERVER_PORT" --insecure-port=0 \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --kubelet-client-certificate="$PKI/kubelet-client.crt" --kubelet-client-key="$PKI/kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP,Hostname,ExternalIP \
    --authorization-mode=Node,RBAC --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --endpoint-reconciler-type=none
  # (--endpoint-reconciler-type=none: a loopback address may not be an Endpoints address, so the
  # "kubernetes" Service has no endpoints here; clients reach the apiserver at KUBE_APISERVER_URL.)
  await 60 apiserver "$KUBE_APISERVER_PORT" apiserver_ready || return

  start scheduler "$KUBE_BIN/kube-scheduler" \
    --kubeconfig="$DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig="$DIR/scheduler.kubeconfig" --authorization-kubeconfig="$DIR/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KUBE_SCHEDULER_PORT" --port=0 --leader-elect=false

  # Node lifecycle is on (it is one of the default controllers). Timings are shorter than the
  # defaults so tests are quick: a node whose Lease stops being renewed is marked NotReady/Unknown
  # and tainted after 20 s (default 40 s), checked every 2 s (default 5 s). --pod-eviction-timeout
  # (default 5 m) only matters without taint-based eviction; pods on a NotReady node are still
  # evicted only after the 300 s toleration the apiserver's DefaultTolerationSeconds plugin adds,
  # so a test that stops the bridge for a while does not lose its pods.
  start controller-manager "$KUBE_BIN/kube-controller-manager" \
    --kubeconfig="$DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$DIR/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KUBE_CONTROLLER_MANAGER_PORT" --port=0 --leader-elect=false \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --node-monitor-period=2s --node-monitor-grace-period=20s --pod-eviction-timeout=30s

  await 30 scheduler "$KUBE_SCHEDULER_PORT" healthy "$KUBE_SCHEDULER_PORT" || return
  await 30 controller-manager "$KUBE_CONTROLLER_MANAGER_PORT" healthy "$KUBE_CONTROLLER_MANAGER_PORT" || return
  # Pods are only admitted once the service account controller made the "default" account.
  await 30 controller-manager "$KUBE_CONTROLLER_MANAGER_PORT" \
    "$KUBE_BIN/kubectl" --kubeconfig="$KUBECONFIG_OUT" -n default get serviceaccount default
}

if [ "${KUBE_FRESH:-0}" = 1 ]; then rm -rf "$DIR/etcd"; fi
cd "$DIR"
fresh=0
for attempt in 1 2 3; do
  configure "$fresh"
  rc=0
  launch || rc=$?
  [ "$rc" = 0 ] && break
  if [ "$rc" != 2 ] || [ "$attempt" = 3 ]; then
    die "could not start the control plane: its ports kept being taken (see $DIR/logs)"
  fi
  note "a port was taken by another process meanwhile; retrying with other ports"
  stop_all 5
  fresh=1
done

echo "$KUBECONFIG_OUT"
