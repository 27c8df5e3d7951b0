#!/usr/bin/env bash
# pslist latency on a live guest: the compiled monitor (JIT) vs the reference executor, one JMH run.
#   benchmarks/run-pslist.sh [--policy P] [--procs N] [--profile [RUNS]] [--no-jmh] [-- JMH ARGS...]
# Builds benchmarks/target/benchmarks.jar, trains pslist under the policy (default: the project's
# Training.DEFAULT_POLICY) from the corpus under .lab/corpus (traced only if missing),
# boots the lab guest "bench" with N sleepers (default 100), runs PslistBenchmark against its RAM
# file (paused through QMP), optionally PslistProfile (where a JIT run spends its time), and stops
# the guest on every exit path. JMH ARGS are appended to the benchmark name (e.g. -wi 10 -i 5).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/lab.env
. "$root/scripts/lab.env"
jar="$root/benchmarks/target/benchmarks.jar"
name=${VMSIGHT_BENCH_NAME:-bench}
policy=""
procs=100
profile=""
jmh=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --policy) policy=$2; shift 2 ;;
    --procs) procs=$2; shift 2 ;;
    --profile)
      profile=20000; shift
      if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then profile=$1; shift; fi ;;
    --no-jmh) jmh=""; shift ;;
    --) shift; break ;;
    *) echo "run-pslist: unknown argument '$1' (usage: run-pslist.sh [--policy P] [--procs N] [--profile [RUNS]] [--no-jmh] [-- JMH ARGS])" >&2; exit 2 ;;
  esac
done

(cd "$root" && mvn -q -B -pl benchmarks -am -DskipTests package) >&2
vmsight() { java -Dvmsight.root="$root" -cp "$jar" dev.vmsight.cli.Vmsight "$@"; }

trained=$(java -Dvmsight.root="$root" -cp "$jar" dev.vmsight.benchmarks.TrainPslist $policy)
program=$(sed -n 's/^program=//p' <<<"$trained")
process=$(sed -n 's/^process=//p' <<<"$trained")
[ -f "$program" ] && [ -f "$process" ] || { echo "run-pslist: training gave no program: $trained" >&2; exit 2; }
echo "program $program, process registers from $process" >&2

vmsight lab boot --name "$name" --procs "$procs"
trap 'vmsight lab stop --name "$name" >&2' EXIT
# The guest's own view just before the pause. It also matters: a VIRTUOSO pslist follows its
# trained slab fast path (kmem_cache_alloc), and right after boot an empty per-CPU freelist makes it
# read address 0x10 (a structured memory error, no answer); a process run in the guest refills it.
view=$(vmsight lab exec --name "$name" -- /bin/ls /proc | grep -c '^[0-9][0-9]*$')
echo "guest's own view before the pause: $view PIDs in ls /proc" >&2
props=(-Dvmsight.root="$root" -Dvmsight.program="$program" -Dvmsight.process="$process"
       -Dvmsight.ram="/dev/shm/vmsight-$name.ram" -Dvmsight.qmp="$root/.lab/run/$name/qmp.sock"
       -Dvmsight.vmlinux="$root/.lab/kernels/linux-image-6.1.0-$VMSIGHT_KERNEL_ABI-$VMSIGHT_KERNEL_FLAVOR/vmlinux")
if [ -n "$profile" ]; then
  java "${props[@]}" -cp "$jar" dev.vmsight.benchmarks.PslistProfile "$profile"
fi
if [ -n "$jmh" ]; then
  java "${props[@]}" -jar "$jar" PslistBenchmark "$@"
fi
