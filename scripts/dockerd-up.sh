#!/usr/bin/env bash
# Usage: scripts/dockerd-up.sh [DIR]     (default DIR: /tmp/hpc-bridge-it/docker)
#
# Makes sure two independent Docker engines run on this machine (Debian's docker.io, no systemd):
#   1. the machine's dockerd on unix:///var/run/docker.sock, plus a TLS endpoint
#      tcp://127.0.0.1:$DOCKER_TLS_PORT (default 2376) that requires a client certificate;
#   2. a second dockerd with its own data root, exec root, containerd, config file, bridge
#      ($DOCKER2_BRIDGE, $DOCKER2_BIP, no iptables rules of its own) on
#      unix:///run/hpc-bridge/docker2/docker.sock and TLS tcp://127.0.0.1:$DOCKER2_TLS_PORT (2377).
# A daemon that already answers is left alone. Certificates (CA, server, client; docker's file
# names ca.pem/cert.pem/key.pem) live in /var/cache/hpc-bridge/docker-tls. Writes DIR/docker.env
# (shell syntax) and prints its path; daemon logs go to DIR/logs. dockerd-down.sh DIR stops the
# daemons this script started from DIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-/tmp/hpc-bridge-it/docker}
DOCKER_TLS_PORT=${DOCKER_TLS_PORT:-2376}
DOCKER2_TLS_PORT=${DOCKER2_TLS_PORT:-2377}
DOCKER2_BRIDGE=${DOCKER2_BRIDGE:-hpcb-docker2}
DOCKER2_BIP=${DOCKER2_BIP:-172.31.250.1/24}
TLS=$HPCB_CACHE/docker-tls
RUN2=/run/hpc-bridge/docker2
SOCK1=/var/run/docker.sock
SOCK2=$RUN2/docker.sock

need_root
mkdir -p "$DIR/logs"
DIR=$(cd "$DIR" && pwd)
mkdir -p /run/lock
exec 8>/run/lock/hpc-bridge-dockerd.lock
flock 8 # one dockerd-up/dockerd-down at a time on this machine

command -v dockerd >/dev/null && command -v openssl >/dev/null && command -v curl >/dev/null &&
  command -v ip >/dev/null || apt_install docker.io openssl curl iproute2
DOCKER=/usr/bin/docker # the client that comes with the daemon

# --- certificates -------------------------------------------------------------------------
tls_complete() {
  local f
  for f in ca.pem server/cert.pem server/key.pem client/ca.pem client/cert.pem client/key.pem; do
    [ -s "$TLS/$f" ] || return 1
  done
}
sign() { # sign DIR CN USAGE [SANS] : DIR/key.pem + DIR/cert.pem signed by the CA
  mkdir -p "$1"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$1/key.pem" -out "$1/req.csr" -subj "/CN=$2" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$3"
    if [ -n "${4:-}" ]; then echo "subjectAltName=$4"; fi
  } >"$1/ext.cnf"
  openssl x509 -req -in "$1/req.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca-key.pem" -CAcreateserial \
    -days 3650 -sha256 -extfile "$1/ext.cnf" -out "$1/cert.pem" 2>/dev/null
  rm -f "$1/req.csr" "$1/ext.cnf"
  cp "$TLS/ca.pem" "$1/ca.pem"
}
if ! tls_complete; then
  rm -rf "$TLS"
  mkdir -p "$TLS"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS/ca-key.pem" -out "$TLS/ca.pem" -days 3650 \
    -sha256 -subj "/CN=hpc-bridge-test-docker-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null ||
    die "openssl could not create $TLS/ca.pem"
  sign "$TLS/server" localhost serverAuth "IP:127.0.0.1,DNS:localhost"
  sign "$TLS/client" hpc-bridge-test-client clientAuth
  chmod 600 "$TLS"/*.pem "$TLS"/*/key.pem
fi
TLSFLAGS=(--tlsverify --tlscacert "$TLS/ca.pem" --tlscert "$TLS/server/cert.pem" --tlskey "$TLS/server/key.pem")

# --- daemons ------------------------------------------------------------------------------
answers() { "$DOCKER" -H "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
tls_answers() {
  curl -fsS --max-time 3 --cacert "$TLS/ca.pem" --cert "$TLS/client/cert.pem" --key "$TLS/client/key.pem" \
    "https://127.0.0.1:$1/_ping" >/dev/null 2>&1
}
# launch NAME PIDFILE SOCKET TLSPORT DOCKERD-ARGS... : start a dockerd and wait until it answers.
launch() {
  local name=$1 pidfile=$2 sock=$3 port=$4 log=$DIR/logs/$1.log pid i
  shift 4
  port_busy "$port" && die "port $port for the $name TLS endpoint is taken by another process"
  echo "--- $(date -Is)" >>"$log"
  pid=$(spawn "$log" dockerd --pidfile "$pidfile" -H "unix://$sock" -H "tcp://127.0.0.1:$port" "${TLSFLAGS[@]}" "$@")
  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 15 "$log" | sed 's/^/  | /' >&2
      die "dockerd ($name) exited during start (log: $log)"
    fi
    answers "unix://$sock" && tls_answers "$port" && break
    sleep 0.2
  done
  answers "unix://$sock" && tls_answers "$port" || die "dockerd ($name) not ready after 60s (log: $log)"
  echo "$pidfile" >"$DIR/$name.started" # dockerd-down.sh stops only what this DIR started
}

# 1: the machine's daemon.
if answers "unix://$SOCK1"; then
  tls_answers "$DOCKER_TLS_PORT" ||
    die "the dockerd on $SOCK1 was not started by this script and has no TLS endpoint on 127.0.0.1:$DOCKER_TLS_PORT; stop it and run again"
else
  rm -f "$SOCK1"
  launch dockerd /var/run/docker.pid "$SOCK1" "$DOCKER_TLS_PORT"
fi

# 2: the second, independent daemon.
if answers "unix://$SOCK2"; then
  tls_answers "$DOCKER2_TLS_PORT" || die "the dockerd on $SOCK2 has no TLS endpoint on 127.0.0.1:$DOCKER2_TLS_PORT"
else
  mkdir -p "$RUN2/exec" /var/lib/hpc-bridge/docker2
  [ -f "$RUN2/daemon.json" ] || echo '{}' >"$RUN2/daemon.json"
  # Its own bridge, so its containers have addresses and published ports without touching the
  # first daemon's docker0 or iptables chains (no NAT: containers reach this host, not the world).
  if ! ip link show "$DOCKER2_BRIDGE" >/dev/null 2>&1; then
    ip link add "$DOCKER2_BRIDGE" type bridge || die "cannot create bridge $DOCKER2_BRIDGE"
    ip addr add "$DOCKER2_BIP" dev "$DOCKER2_BRIDGE"
  fi
  ip link set "$DOCKER2_BRIDGE" up
  rm -f "$SOCK2"
  launch dockerd2 "$RUN2/dockerd.pid" "$SOCK2" "$DOCKER2_TLS_PORT" \
    --config-file "$RUN2/daemon.json" --data-root /var/lib/hpc-bridge/docker2 --exec-root "$RUN2/exec" \
    --bridge "$DOCKER2_BRIDGE" --iptables=false --ip-masq=false --cgroup-parent /hpcb-docker2 \
    --containerd-namespace hpcb-docker2 --containerd-plugins-namespace hpcb-docker2-plugins
fi

cat >"$DIR/docker.env" <<EOF
DOCKER_HOST_IT=tcp://127.0.0.1:$DOCKER_TLS_PORT
DOCKER_CERT_PATH_IT=$TLS/client
DOCKER_TLS_VERIFY_IT=1
DOCKER_SOCKET_IT=unix://$SOCK1
DOCKER2_HOST_IT=unix://$SOCK2
DOCKER2_TLS_HOST_IT=tcp://127.0.0.1:$DOCKER2_TLS_PORT
DOCKER2_BRIDGE_IP_IT=${DOCKER2_BIP%/*}
EOF
echo "$DIR/docker.env"
