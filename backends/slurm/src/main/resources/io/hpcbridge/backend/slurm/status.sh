# ---- hpc-bridge status reader: prints the wrapper's files of the pods named below ----
# Run in the work root. For each file: "UID/FILE:LINE" per line of its content, or "UID/FILE!WHY"
# when it is not a regular file (symlink, FIFO, device...), cannot be read, or is larger than its
# cap. Only bash builtins touch pod files: nothing here follows a symlink a pod planted, creates a
# file, or reads more than the cap, so one pod's garbage cannot flood the others' status.
# A pod's lines are printed together, and only when they are at most HPCB_POD_MAX bytes (set by
# the caller); else just "UID/files!toolarge". hpcb_pods is given a byte BUDGET for all pods: the
# first pod whose lines would pass it, and every pod after it, is not read and printed as
# "@@deferred UID", so the caller bounds the total by the budget plus one short line per pod. A
# pod cannot forge these marker lines: every line of its content starts with "UID/FILE".
# Files are opened read-only, so a FIFO a pod swaps in between the checks and the open blocks the
# open: pods are read by a child process that the parent kills when one pod takes longer than
# HPCB_READ_WAIT seconds (set by the caller); that pod is reported "@@unread UID", and a new child
# reads the rest.
export LC_ALL=C
hpcb_v=
hpcb_out=
hpcb_regular() { [[ ! -L $1 && -f $1 ]]; }
hpcb_rd() { # path cap
  hpcb_v=
  [[ -e $1 || -L $1 ]] || return 0
  if ! hpcb_regular "$1"; then hpcb_out+="$1!notregular"$'\n'; return 0; fi
  # Read-only (never O_CREAT: a dangling link swapped in creates nothing); what is open is checked
  # once more on the descriptor.
  { hpcb_rd_fd "$1" "$2"; } 3<"$1" || hpcb_out+="$1!unreadable"$'\n'
}
hpcb_rd_fd() { # path cap; the file is open on fd 3
  if [[ ! -f /dev/fd/3 || -L $1 || ! $1 -ef /dev/fd/3 ]]; then
    hpcb_out+="$1!notregular"$'\n'; return 0
  fi
  local v=
  # Reads at most cap+1 bytes and stops at a NUL: more than the cap, or a NUL, is not ours.
  if IFS= read -r -d '' -n "$(($2 + 1))" -u 3 v; then hpcb_out+="$1!invalid"$'\n'; return 0; fi
  v=${v//[!$'\n'[:print:]]/?}
  v=${v%$'\n'}
  hpcb_v=$v
  hpcb_out+="$1:${v//$'\n'/$'\n'$1:}"$'\n'
}
hpcb_full() { [ "${#hpcb_out}" -gt "$HPCB_POD_MAX" ]; }
hpcb_pods() { # budget uid...
  local left=$1 i=0 line pid rfd
  shift
  local -a u=("$@")
  exec 5>&1
  while [ "$i" -lt "${#u[@]}" ]; do
    exec {rfd}< <(hpcb_reader "$left" "${u[@]:i}" 4>&1 >&5)
    pid=$!
    # The child says "r" before it reads pod i and "p BYTES" (what it took of the budget) before it
    # prints it.
    while [ "$i" -lt "${#u[@]}" ] && IFS= read -r -u "$rfd" line; do
      IFS= read -r -t "$HPCB_READ_WAIT" -u "$rfd" line || break
      [[ $line =~ ^p\ ([0-9]+)$ ]] || break
      left=$((left - BASH_REMATCH[1]))
      i=$((i + 1))
    done
    if [ "$i" -lt "${#u[@]}" ]; then
      kill -KILL "$pid" 2>/dev/null
      printf '\n@@unread %s\n' "${u[i]}"
      i=$((i + 1))
    fi
    wait "$pid" 2>/dev/null
    exec {rfd}<&-
  done
  exec 5>&-
}
hpcb_reader() { # budget uid...; tells the parent on fd 4
  # A file that cannot be opened is reported in the pod's lines; bash's message is not wanted.
  exec 2>/dev/null
  local left=$1 was u
  shift
  for u; do
    printf 'r\n' >&4
    hpcb_out=
    was=$left
    if [ "$left" -lt 0 ]; then
      hpcb_out="@@deferred $u"$'\n'
    else
      if [ -d "$u" ] && [ ! -L "$u" ]; then hpcb_pod_files "$u"; fi
      if hpcb_full; then
        hpcb_out="$u/files!toolarge"$'\n'
      elif [ "${#hpcb_out}" -gt "$left" ]; then
        # The budget is spent: this pod and the rest wait for another command.
        left=-1
        hpcb_out="@@deferred $u"$'\n'
      else
        left=$((left - ${#hpcb_out}))
      fi
    fi
    printf 'p %s\n' "$((was < 0 ? 0 : was - left))" >&4
    printf '%s' "$hpcb_out"
  done
}
hpcb_pod_files() { # uid
  local u=$1 f n line names=()
  hpcb_rd "$u/manifest" 16384
  hpcb_full && return 0
  while IFS= read -r line; do
    if [[ $line =~ ^(init|main)\ ([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$ ]] && [ "${#names[@]}" -lt 128 ]; then
      names+=("${BASH_REMATCH[2]}")
    fi
  done <<< "$hpcb_v"
  for f in jobid submitted started done; do hpcb_rd "$u/$f" 64; done
  hpcb_rd "$u/node" 512
  [ -d "$u/c" ] && [ ! -L "$u/c" ] || return 0
  for n in "${names[@]}"; do
    hpcb_full && return 0
    [ -d "$u/c/$n" ] && [ ! -L "$u/c/$n" ] || continue
    for f in start exit restarts last; do hpcb_rd "$u/c/$n/$f" 64; done
  done
}
