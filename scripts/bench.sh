#!/usr/bin/env bash
# Usage: scripts/bench.sh [--pods N] [--backends slurm,docker,local] [--status-pods N]
#                         [--repeats N] [--enforce] [--running] [MAVEN ARGS...]
#
# The benchmark (bridge/src/test/java/io/hpcbridge/bridge/bench/BenchIT.java, described in
# docs/benchmarks.md): the raw tools (sbatch/scancel over one SSH session, docker run, a plain
# spawn) and the bridge against the same real servers, printed as one table, also written to
# bridge/target/bench/table.md.
#
#   --pods N          pods (and raw operations) per throughput row (default 100)
#   --backends LIST   which rows to run (default slurm,docker,local)
#   --status-pods N   pods of the Slurm "end→Succeeded" row (default: --pods)
#   --repeats N       repetitions of the single-start rows (default 5)
#   --enforce         fail when a ratio is below half its target, as in the test suite (here the
#                     default is to print the table only)
#   --running         use servers already running (started by scripts/test.sh with
#                     HPC_BRIDGE_KEEP_SERVERS=1, in HPC_BRIDGE_IT_DIR or /tmp/hpc-bridge-it)
#                     instead of letting scripts/test.sh start and stop them
#
# Without --running this is scripts/test.sh (same packages, servers and environment; needs root)
# limited to the benchmark. Examples:
#   scripts/bench.sh
#   scripts/bench.sh --running --pods 1000 --status-pods 100 --backends slurm
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

pods=100
backends=slurm,docker,local
status_pods=
repeats=5
enforce=false
running=0
extra=()
while [ $# -gt 0 ]; do
  case $1 in
  --pods) pods=$2; shift 2 ;;
  --backends) backends=$2; shift 2 ;;
  --status-pods) status_pods=$2; shift 2 ;;
  --repeats) repeats=$2; shift 2 ;;
  --enforce) enforce=true; shift ;;
  --running) running=1; shift ;;
  -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) extra+=("$1"); shift ;;
  esac
done

args=(-pl bridge -am -Dit.test=BenchIT -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false
  -Dfailsafe.failIfNoSpecifiedTests=false "-Dbench.pods=$pods" "-Dbench.backends=$backends"
  "-Dbench.repeats=$repeats" "-Dbench.enforce=$enforce")
[ -z "$status_pods" ] || args+=("-Dbench.statusPods=$status_pods")
args+=(${extra[@]+"${extra[@]}"})

if [ "$running" = 0 ]; then
  exec "$ROOT/scripts/test.sh" "${args[@]}"
fi

# --running: the environment scripts/test.sh exports, from the servers' own files.
RUN_DIR=${HPC_BRIDGE_IT_DIR:-/tmp/hpc-bridge-it}
kv() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
for f in "$RUN_DIR/kube/kube.env" "$RUN_DIR/docker/docker.env"; do
  [ -f "$f" ] || { echo "error: $f is missing: start the servers with HPC_BRIDGE_KEEP_SERVERS=1 scripts/test.sh" >&2; exit 1; }
done
export KUBECONFIG_IT=$RUN_DIR/kube/admin.kubeconfig
export KUBE_DIR_IT=$RUN_DIR/kube
KUBECTL=$(kv "$RUN_DIR/kube/kube.env" KUBECTL)
export KUBECTL
while IFS='=' read -r k v; do
  [ -n "$k" ] && export "$k=$v"
done <"$RUN_DIR/docker/docker.env"
export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost
cd "$ROOT"
exec "$ROOT/mvnw" -B verify "${args[@]}"
