# Shared helpers for the scripts in this directory. Source it; do not run it.
# shellcheck shell=bash

HPCB_CACHE=${HPCB_CACHE:-/var/cache/hpc-bridge}
HPCB_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
  echo "${0##*/}: error: $*" >&2
  exit 1
}

# Print a message on stderr (stdout is reserved for a script's result).
note() { echo "${0##*/}: $*" >&2; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"; }

# retry N CMD... : run CMD up to N times, 3 s apart.
retry() {
  local n=$1 i
  shift
  for ((i = 1; i <= n; i++)); do
    "$@" && return 0
    [ "$i" -lt "$n" ] && sleep 3
  done
  return 1
}

APT_OPTS=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
_apt_updated=${_apt_updated:-}

apt_update() {
  [ -n "$_apt_updated" ] && return 0
  retry 3 env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update \
    >>"${HPCB_APT_LOG:-/tmp/hpc-bridge-apt.log}" 2>&1 ||
    die "apt-get update failed (log: ${HPCB_APT_LOG:-/tmp/hpc-bridge-apt.log})"
  _apt_updated=1
  export _apt_updated
}

pkg_installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

# apt_install PKG... : install the packages that are not installed yet (update once, retries).
apt_install() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root
  note "installing ${missing[*]}"
  apt_update
  retry 3 env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install --no-install-recommends "${missing[@]}" \
    >>"${HPCB_APT_LOG:-/tmp/hpc-bridge-apt.log}" 2>&1 ||
    die "apt-get install ${missing[*]} failed (log: ${HPCB_APT_LOG:-/tmp/hpc-bridge-apt.log})"
}

# The distribution's codename (bookworm on Debian 12).
codename() { (. /etc/os-release && echo "${VERSION_CODENAME:?}"); }

# The first archive URI apt is configured with for "<codename> main" (used for deb-src and
# debootstrap, so no mirror is hard-coded here).
debian_mirror() {
  local c uri
  c=$(codename)
  uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' 2>/dev/null |
    awk -v c="$c" '$2 == c && $3 == "main" { print $1; exit }')
  [ -n "$uri" ] || die "no apt source for '$c main' is configured"
  echo "${uri%/}"
}

# Make "apt-get source" work: add a deb-src entry mirroring the configured archive if none exists.
enable_deb_src() {
  local f=/etc/apt/sources.list.d/hpc-bridge-src.sources c uri
  if grep -rqsE '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return 0
  fi
  c=$(codename)
  uri=$(debian_mirror)
  {
    echo "Types: deb-src"
    echo "URIs: $uri"
    echo "Suites: $c"
    echo "Components: main"
    if [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
      echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi
  } >"$f.tmp"
  mv "$f.tmp" "$f"
  _apt_updated=
}

# port_busy PORT : true when something accepts connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port : print a port nobody listens on (20000-32767).
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12768))
    port_busy "$p" || {
      echo "$p"
      return 0
    }
  done
  die "no free TCP port found"
}

# spawn LOG CMD... : start CMD detached in its own session, output to LOG, print its pid.
# Lock descriptors (3-9) are closed so a daemon never holds a caller's flock.
spawn() {
  local log=$1
  shift
  setsid "$@" </dev/null >>"$log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  echo $!
}

# live_pid PIDFILE [NAME] : print the pid in PIDFILE if that process runs (and its command line
# contains NAME, so a stale file whose pid was reused is ignored).
live_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "${2:-}" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  fi
  echo "$pid"
}

# stop_pid PIDFILE NAME [SECONDS] : SIGTERM, then SIGKILL after SECONDS (default 15);
# removes PIDFILE. Only signals a process whose command line contains NAME.
stop_pid() {
  local f=$1 name=$2 t=${3:-15} pid i
  if pid=$(live_pid "$f" "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < t * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$f"
}

# wait_until SECONDS WHAT CMD... : poll CMD every 0.2 s; die naming WHAT on timeout.
wait_until() {
  local t=$1 what=$2 i
  shift 2
  for ((i = 0; i < t * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "timed out after ${t}s waiting for $what"
}

# owns_port PID PORT : true when process PID has a socket listening on TCP PORT.
owns_port() {
  local pid=$1 hex inode fd
  hex=$(printf ':%04X' "$2")
  for inode in $(awk -v p="$hex" 'substr($2, length($2) - 4) == p && $4 == "0A" { print $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
    for fd in /proc/"$pid"/fd/*; do
      [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ] && return 0
    done
  done
  return 1
}
