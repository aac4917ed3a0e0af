#!/usr/bin/env bash
# On a machine with a GPU: build everything, run the whole test suite (GPU tests included),
# run the GPU tests under compute-sanitizer memcheck and racecheck, and print a summary last.
# Usage: tests/run_gpu_suite.sh   (BUILD=dir to choose the build folder)
# A folder .carry/catch2/catch.hpp (Catch2 v2, git-ignored) is used when present, for GPU
# machines that only have Catch2 v3 headers.
set -u
cd "$(dirname "$0")/.."
build=${BUILD:-/tmp/ganops-gpu-build}
export PATH=/usr/local/cuda/bin:/opt/torch/.venv/bin:$PATH
extra=()
[ -f .carry/catch2/catch.hpp ] && extra+=(-DGANOPS_CATCH2_V2_INCLUDE="$PWD/.carry")
command -v ninja >/dev/null && extra+=(-G Ninja)
summary=()
if ! cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 "${extra[@]}" >/tmp/ganops-configure.log 2>&1 ||
   ! cmake --build "$build" -j "$(nproc)" >/tmp/ganops-build.log 2>&1; then
  tail -40 /tmp/ganops-configure.log /tmp/ganops-build.log
  echo "SUMMARY: build FAILED"
  exit 1
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /'

ctest --test-dir "$build" -j 8 --output-on-failure >/tmp/ganops-ctest.log 2>&1
rc_all=$?
tail -25 /tmp/ganops-ctest.log
summary+=("full suite (cpu + gpu): $(grep -E 'tests passed|tests failed' /tmp/ganops-ctest.log | tail -1)")

sanitizer_failures=0
gpu_tests=$(ctest --test-dir "$build" -L gpu -N | sed -n 's/^ *Test *#[0-9]*: //p')
for t in $gpu_tests; do
  exe=$(find "$build" -type f -name "$t" -perm -u+x | head -1)
  for tool in memcheck racecheck; do
    # [large] test cases (batch-128 layers, whole training runs) take too long instrumented.
    if GANOPS_POISON_ALLOCATIONS=1 compute-sanitizer --tool "$tool" --error-exitcode 99 "$exe" "~[large]" >"/tmp/ganops-$tool-$t.log" 2>&1; then
      summary+=("compute-sanitizer $tool $t: clean")
    else
      sanitizer_failures=$((sanitizer_failures + 1))
      tail -30 "/tmp/ganops-$tool-$t.log"
      summary+=("compute-sanitizer $tool $t: FAILED (see /tmp/ganops-$tool-$t.log)")
    fi
  done
done

echo
echo "SUMMARY"
printf '  %s\n' "${summary[@]}"
[ $rc_all -eq 0 ] && [ $sanitizer_failures -eq 0 ] && echo "  result: PASS" && exit 0
echo "  result: FAIL"
exit 1
