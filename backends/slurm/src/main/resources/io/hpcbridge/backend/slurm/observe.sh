# ---- hpc-bridge observe: Slurm's view of the tracked jobs and their pods' files ----
# Needs the status reader (status.sh) and, from the caller: HPCB_ROOT (the work root),
# HPCB_MAX_LINE, HPCB_ACCOUNTING (1 or 0) and the formats below. What is tracked comes on stdin
# (hpcb_input), never on the command line, so the command is the same size for 1 pod or 10,000.
# Every section is bounded by a cap given by the caller: a section that reaches it ends with
# "@@squeue-cut" or "@@gone-cut" and the caller does not read anything into what it left out.
# Slurm's lines keep only what Slurm writes (no job name, no comment: their owner can change them).
export LC_ALL=C SLURM_TIME_FORMAT=%s
hpcb_ids=()
hpcb_uids=()
hpcb_input() { # stdin: job ids, a line "@@", pod UIDs, one per line (checked by the caller)
  local x i
  x=$(cat)
  local -a all
  # From a here-string (a file), which bash reads buffered; a pipe it reads byte by byte.
  mapfile -t all <<< "$x"
  for ((i = 0; i < ${#all[@]}; i++)); do [[ ${all[i]} == @@ ]] && break; done
  hpcb_ids=("${all[@]:0:i}")
  hpcb_uids=("${all[@]:i+1}")
}
# Keeps the lines whose first field ($1 split at "|", or "JobId=" for scontrol) is a tracked job,
# each cut at HPCB_MAX_LINE, until cap bytes; marker lines of ours ("@@...-failed") pass.
hpcb_keep() { # cap marker-prefix mode(squeue|sacct|scontrol)
  awk -v cap="$1" -v cut="$2-cut" -v mode="$3" -v max="$HPCB_MAX_LINE" '
    FILENAME == ARGV[1] { want[$0]; next }
    /^@@[a-z]+-failed$/ { print; next }
    mode == "scontrol" {
      if (substr($0, 1, 6) != "JobId=") next
      n = split($0, t, " "); id = substr(t[1], 7)
      if (!(id in want)) next
      l = "JobId=" id; split("", seen)
      for (i = 2; i <= n; i++) {
        p = index(t[i], "="); k = substr(t[i], 1, p - 1)
        if (p > 1 && k ~ /^(JobState|Reason|ExitCode|SubmitTime|StartTime|EndTime|NodeList|UserId)$/ && !(k in seen)) {
          seen[k]; l = l " " t[i]
        }
      }
    }
    mode != "scontrol" {
      n = split($0, f, "|")
      if (!(f[1] in want)) next
      # sacct: JobID,State,NodeList,Submit,Start,End,ExitCode,Reason,User in the shape of
      # SlurmOutput.SACCT_FORMAT, with no job name and no comment.
      l = mode == "squeue" ? $0 : f[1] "||" f[2] "|" f[3] "|" f[4] "|" f[5] "|" f[6] "|" f[7] "|" f[8] "|" f[9] "|"
    }
    {
      l = substr(l, 1, max); size += length(l) + 1
      if (size > cap) { print cut; exit }
      print l
    }' <(printf '%s\n' "${hpcb_ids[@]}") -
}
hpcb_squeue() { # cap: this account's tracked jobs in the queue
  { squeue --me -h -a -t all -o "$HPCB_SQUEUE_FORMAT" 2>/dev/null || echo @@squeue-failed; } |
    hpcb_keep "$1" @@squeue squeue
}
hpcb_gone() { # cap: what Slurm still knows of tracked jobs that left this account's queue
  [ "${#hpcb_ids[@]}" -gt 0 ] || return 0
  if [ "$HPCB_ACCOUNTING" = 1 ]; then
    local k
    for ((k = 0; k < ${#hpcb_ids[@]}; k += 500)); do
      (IFS=,; sacct -n -X -P -o "$HPCB_SACCT_FORMAT" -j "${hpcb_ids[*]:k:500}" 2>/dev/null) ||
        echo @@gone-failed
    done | hpcb_keep "$1" @@gone sacct
  else
    # Every job the controller holds, once: an unknown id costs nothing, unlike one call per job.
    { scontrol -o show job 2>/dev/null || echo @@gone-failed; } | hpcb_keep "$1" @@gone scontrol
  fi
}
hpcb_files() { # budget: the status files of the pods in hpcb_uids
  (cd -- "$HPCB_ROOT" 2>/dev/null || exit 0; hpcb_pods "$1" "${hpcb_uids[@]}")
}
# One section (squeue or gone) of at most half the budget, then the files with what is left.
hpcb_observe() { # section budget
  local s
  s=$("hpcb_$1" "$(($2 / 2))")
  [ -n "$s" ] && printf '%s\n' "$s"
  echo @@files
  [ "${#hpcb_uids[@]}" -eq 0 ] || hpcb_files "$(($2 - ${#s} - 1))"
}
