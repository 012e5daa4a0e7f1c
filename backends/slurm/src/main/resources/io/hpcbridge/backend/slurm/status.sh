# ---- hpc-bridge status reader: prints the wrapper's files of the pods named below ----
# Run in the work root. For each file: "UID/FILE:LINE" per line of its content, or "UID/FILE!WHY"
# when it is not a regular file (symlink, FIFO, device...), cannot be read, or is larger than its
# cap. Only bash builtins touch pod files: nothing here blocks, follows a symlink a pod planted,
# or reads more than the cap, so one pod's garbage cannot stall or flood the others' status.
# A pod's lines are printed together, and only when they are at most HPCB_POD_MAX bytes (set by
# the caller); else just "UID/files!toolarge": the caller sizes its batches by that bound.
export LC_ALL=C
hpcb_v=
hpcb_out=
hpcb_rd() { # path cap
  hpcb_v=
  [ -e "$1" ] || [ -L "$1" ] || return 0
  if [ -L "$1" ] || [ ! -f "$1" ]; then hpcb_out+="$1!notregular"$'\n'; return 0; fi
  # Opened read-write: opening a FIFO that way never blocks (a FIFO swapped in after the check
  # above is then refused by the checks on the open descriptor).
  { hpcb_rd_fd "$1" "$2"; } 3<>"$1" 2>/dev/null || hpcb_out+="$1!unreadable"$'\n'
}
hpcb_rd_fd() { # path cap; the file is open on fd 3
  if [ ! -f /dev/fd/3 ] || [ -L "$1" ] || [ ! "$1" -ef /dev/fd/3 ]; then
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
hpcb_pod() { # uid
  local u=$1
  hpcb_out=
  [ -d "$u" ] && [ ! -L "$u" ] || return 0
  hpcb_pod_files "$u"
  if hpcb_full; then printf '%s/files!toolarge\n' "$u"; else printf '%s' "$hpcb_out"; fi
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
