#!/bin/sh
# Fuzzes each target for a given time with libFuzzer, ASan, UBSan and leak detection.
#   fuzz/run.sh [seconds per target (default 600)] [target ...]   (default: every target)
# Needs a fuzz build (fuzz/README.md):
#   CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DGANOPS_FUZZ=ON -DGANOPS_ENABLE_CUDA=OFF \
#     -DGANOPS_BUILD_EMULATED=OFF -DGANOPS_BUILD_TESTS=OFF -DGANOPS_BUILD_BENCHMARKS=OFF && cmake --build build-fuzz --target fuzz_all
# Each target starts from fuzz/corpus/<target> and its saved regressions, grows a working
# corpus in build-fuzz/fuzz-work/<target>, writes crash inputs to build-fuzz/fuzz-artifacts/<target>/
# (copy them into fuzz/regressions/<target>/ once fixed) and its log to build-fuzz/fuzz-<target>.log.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GANOPS_FUZZ_BUILD:-$root/build-fuzz}
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-safetensors idx image lmdb cli}
status=0
for t in $targets; do
  mkdir -p "$build/fuzz-work/$t" "$build/fuzz-artifacts/$t"
  mkdir -p "$root/fuzz/regressions/$t"
  log="$build/fuzz-$t.log"
  # -rss_limit_mb: the readers cap what they allocate well below this; -timeout: no input
  # may take 10 s. Leaks are reported at the end of each input run (detect_leaks).
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2560 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$t/" "$build/fuzz-work/$t" "$root/fuzz/corpus/$t" "$root/fuzz/regressions/$t" \
       > "$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "fuzz_$t: $result, ${runs:-?} executions (budget $seconds s; log: $log)"
done
exit $status
