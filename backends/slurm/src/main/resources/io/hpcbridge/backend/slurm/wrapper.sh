# ---- hpc-bridge job wrapper: the same for every pod; only the values above differ ----
# Files in $HPCB_DIR: jobid, node, started, done ("<highest exit code> <epoch>"), and per
# container c/NAME/: log ("<epoch.micros> <line>" per line), previous.log, start, exit
# ("<code> <epoch>"), restarts, last ("<code> <start> <finish>" of the previous run), pid.
# Shipped with the job (0600): run/NAME.argv, the command line that starts container NAME (words
# ended by NUL), run/NAME.binds, the sources of its binds (likewise), and env/NAME.env, its
# environment; these, and the pod's secret volumes, are removed when the job ends. The pod's env reaches only the container: the runtime reads the env file
# itself (apptainer, podman), srun gets it (pyxis), or for runtime none a fresh bash sources it
# just before it execs the command (HPCB_DIRECT).
hpcb_now() { printf '%(%s)T' -1; }
hpcb_put() { local f=$1; shift; printf '%s\n' "$*" > "$f.tmp" && mv -f -- "$f.tmp" "$f"; }
hpcb_stamp() {
  trap '' TERM INT
  local LC_ALL=C hpcb_line
  while IFS= read -r hpcb_line || [ -n "$hpcb_line" ]; do
    printf '%s %s\n' "$EPOCHREALTIME" "$hpcb_line"
  done
}
# Runtime none: $1 the argv file, $2 the env file, $3 the working directory or empty.
HPCB_DIRECT='mapfile -d "" -t HPCB_A < "$1" || exit 126
if [ -n "$3" ]; then cd -- "$3" || exit 126; fi
. "$2" || exit 126
exec -- "${HPCB_A[@]}"'
# The runtime resolves a bind source ($1) on this node and follows symlinks: refuse one that passes
# through a link the wrapper did not make. Below the pod's directory there is none (a container
# writes its emptyDir); elsewhere (hostPath) only root's links are followed, and none when the job
# runs as root, since a pod may have planted it.
hpcb_source_ok() {
  local rest=$1 p='' part owner below=0
  if [[ $1 == "$HPCB_DIR"/* ]]; then below=1 p=$HPCB_DIR rest=${1#"$HPCB_DIR"/}; fi
  while [ -n "$rest" ]; do
    part=${rest%%/*}
    if [ "$part" = "$rest" ]; then rest=; else rest=${rest#*/}; fi
    [ -n "$part" ] || continue
    p=$p/$part
    [ -L "$p" ] || continue
    owner=
    if [ "$below" = 0 ] && [ "$EUID" != 0 ]; then owner=$(stat -c %u -- "$p" 2>/dev/null); fi
    if [ "$owner" != 0 ]; then
      echo "hpc-bridge: not binding $1: $p is a symbolic link the bridge did not make (a hostPath may pass only through links root owns)" >&2
      return 1
    fi
  done
}
# One run of container $1 (index) named $2; its exit code goes to c/NAME/rc.
hpcb_launch() {
  local cdir=$HPCB_DIR/c/$2 argvf=$HPCB_DIR/run/$2.argv envf=$HPCB_DIR/env/$2.env
  local bindf=$HPCB_DIR/run/$2.binds
  local mode=${HPCB_MODE[$1]} cwd=${HPCB_CWD[$1]} nnp=${HPCB_NNP[$1]}
  (
    trap - TERM INT
    printf '%s\n' "$BASHPID" > "$cdir/pid"
    if [ "$mode" = direct ]; then
      set -- "$BASH" -c "$HPCB_DIRECT" hpcb "$argvf" "$envf" "$cwd"
      if [ "$nnp" = 1 ]; then
        if [ -z "$HPCB_SETPRIV" ]; then
          echo "hpc-bridge: setpriv not found on ${HOSTNAME:-?}: runtime none cannot set no_new_privs (securityContext.allowPrivilegeEscalation)" >&2
          exit 126
        fi
        set -- "$HPCB_SETPRIV" --no-new-privs "$@"
      fi
      exec "$HPCB_SETSID" -w "$@"
    fi
    if [ -e "$bindf" ]; then
      mapfile -d '' -t hpcb_src < "$bindf" || exit 126
      for p in "${hpcb_src[@]}"; do hpcb_source_ok "$p" || exit 126; done
    fi
    mapfile -d '' -t hpcb_argv < "$argvf" || exit 126
    set -- "$HPCB_SETSID" -w "$(command -v -- "${hpcb_argv[0]}" || printf '%s' "${hpcb_argv[0]}")" "${hpcb_argv[@]:1}"
    if [ "$mode" = srun ]; then . "$envf" || exit 126; fi
    exec "$@"
  ) </dev/null 2>&1 | hpcb_stamp >> "$cdir/log"
  printf '%s\n' "${PIPESTATUS[0]}" > "$cdir/rc"
}
hpcb_kill() {
  local pid
  read -r pid < "$1/pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
}
hpcb_restart() { # kind rc
  case "$HPCB_POLICY" in
    Never) return 1 ;;
    OnFailure) [ "$2" != 0 ] ;;
    Always) [ "$1" = main ] || [ "$2" != 0 ] ;;
  esac
}
# Runs container $2 (index $1, kind $3) with the pod's restart policy; writes c/NAME/exit.
hpcb_run() {
  local i=$1 name=$2 kind=$3 cdir=$HPCB_DIR/c/$2 rc start fin restarts=0 delay=$HPCB_BACKOFF p
  hpcb_stop=0
  trap 'hpcb_stop=1; hpcb_kill "$cdir"' TERM INT
  while :; do
    start=$(hpcb_now)
    rm -f -- "$cdir/rc"
    hpcb_put "$cdir/start" "$start"
    ( trap '' TERM INT; hpcb_launch "$i" "$name" ) &
    p=$!
    while kill -0 "$p" 2>/dev/null; do wait "$p"; done
    rc=1
    read -r rc < "$cdir/rc" 2>/dev/null
    fin=$(hpcb_now)
    if [ "$hpcb_stop" = 1 ] || ! hpcb_restart "$kind" "$rc"; then break; fi
    sleep "$delay" & wait $!
    [ "$hpcb_stop" = 1 ] && break
    restarts=$((restarts + 1))
    hpcb_put "$cdir/last" "$rc $start $fin"
    hpcb_put "$cdir/restarts" "$restarts"
    mv -f -- "$cdir/log" "$cdir/previous.log" 2>/dev/null
    delay=$((delay * 2 > 300 ? 300 : delay * 2))
  done
  hpcb_put "$cdir/exit" "$rc $fin"
  exit "$rc"
}
hpcb_term() {
  hpcb_stopping=1
  local p
  for p in "${hpcb_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
}
hpcb_waitall() {
  local p
  for p in "${hpcb_pids[@]}"; do
    while kill -0 "$p" 2>/dev/null; do wait "$p"; done
  done
}
hpcb_code() {
  local c=1
  read -r c _ < "$HPCB_DIR/c/$1/exit" 2>/dev/null
  printf '%s' "$c"
}
# The pod's env, command lines and secret volumes are not kept past its end.
hpcb_clean() {
  local v
  rm -rf -- "$HPCB_DIR/env" "$HPCB_DIR/run" 2>/dev/null
  for v in "${HPCB_SECRETS[@]}"; do rm -rf -- "${HPCB_DIR:?}/$v" 2>/dev/null; done
}
hpcb_done() {
  hpcb_clean
  hpcb_put "$HPCB_DIR/done" "$1 $(hpcb_now)"
  if [ "$hpcb_stopping" = 1 ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    # Stopped by a signal: stay until Slurm ends the job, so its state says why (TIMEOUT, CANCELLED).
    sleep "$((HPCB_GRACE + 90))" & wait $!
  fi
  exit "$1"
}
hpcb_main() {
  trap hpcb_clean EXIT
  HPCB_SETSID=$(command -v setsid) || { echo "hpc-bridge: setsid not found on ${HOSTNAME:-?}" >&2; exit 127; }
  HPCB_SETPRIV=$(command -v setpriv) || HPCB_SETPRIV=
  local d n i=0 rc max=0
  mkdir -p -- "$HPCB_DIR/c"
  for n in "${HPCB_INIT[@]}" "${HPCB_MAIN[@]}"; do mkdir -p -- "$HPCB_DIR/c/$n"; done
  for d in "${HPCB_MKDIRS[@]}"; do mkdir -p -- "$HPCB_DIR/$d"; done
  hpcb_put "$HPCB_DIR/jobid" "${SLURM_JOB_ID:-}"
  hpcb_put "$HPCB_DIR/node" "${HOSTNAME:-$(hostname)} $(hostname -I 2>/dev/null | cut -d' ' -f1)"
  hpcb_put "$HPCB_DIR/started" "$(hpcb_now)"
  hpcb_stopping=0
  hpcb_pids=()
  trap hpcb_term TERM INT
  for n in "${HPCB_INIT[@]}"; do
    [ "$hpcb_stopping" = 1 ] && hpcb_done 143
    hpcb_run "$i" "$n" init &
    hpcb_pids=($!)
    hpcb_waitall
    rc=$(hpcb_code "$n")
    [ "$rc" = 0 ] || hpcb_done "$rc"
    i=$((i + 1))
  done
  hpcb_pids=()
  [ "$hpcb_stopping" = 1 ] && hpcb_done 143
  for n in "${HPCB_MAIN[@]}"; do
    hpcb_run "$i" "$n" main &
    hpcb_pids+=($!)
    i=$((i + 1))
  done
  hpcb_waitall
  for n in "${HPCB_MAIN[@]}"; do
    rc=$(hpcb_code "$n")
    [ "$rc" -gt "$max" ] 2>/dev/null && max=$rc
  done
  hpcb_done "$max"
}
hpcb_main
