#!/usr/bin/env bash
# On a machine with a GPU: build everything, run the whole test suite (GPU tests included),
# run the GPU tests under compute-sanitizer memcheck and racecheck, and print a summary last.
# Then trains the examples on the GPU for the numbers the issues ask for (EXAMPLES=0 skips).
# Usage: tests/run_gpu_suite.sh   (BUILD=dir to choose the build folder)
# A folder .carry/catch2/catch.hpp (Catch2 v2, git-ignored) is used when present, for GPU
# machines that only have Catch2 v3 headers.
set -u
cd "$(dirname "$0")/.." || exit 1
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

# The examples on the GPU (issues 4 and 6): one full 64x64 Fashion-MNIST epoch of the DCGAN
# through the CUDA kernels with its images/s, the sample classifier, the DCGAN's sample
# quality and the linear probe of its discriminator. EXAMPLES=0 skips this part.
examples_failed=0
if [ "${EXAMPLES:-1}" = 1 ]; then
  ex=/tmp/ganops-gpu-examples
  rm -rf "$ex" && mkdir -p "$ex"
  bin="$build/examples"
  if timeout 900 "$bin/fashion_classifier/fashion_classifier" --epochs 3 --out "$ex/classifier.safetensors" >"$ex/classifier.log" 2>&1 &&
     timeout 1200 "$bin/dcgan_bedroom/dcgan_bedroom" --imageSize 64 --batchSize 128 --niter 1 --sample-every 0 \
       --classifier "$ex/classifier.safetensors" --eval-samples 10000 --outf "$ex/dcgan64" >"$ex/dcgan64.log" 2>&1 &&
     timeout 600 "$bin/gan_family/dcgan_probe" --netD "$ex/dcgan64/netD_epoch_000.safetensors" --imageSize 64 \
       >"$ex/probe.log" 2>&1; then
    summary+=("classifier: $(grep 'test accuracy' "$ex/classifier.log")")
    summary+=("dcgan 64x64 epoch: $(grep -E '^\[0/1\]' "$ex/dcgan64.log" | tail -1 | grep -oE '[0-9.]+ img/s')")
    summary+=("dcgan 64x64 $(grep 'sample quality' "$ex/dcgan64.log")")
    while read -r line; do summary+=("probe: $line"); done < <(grep 'linear-probe' "$ex/probe.log")
  else
    examples_failed=1
    tail -20 "$ex"/*.log
    summary+=("examples on the GPU: FAILED (logs in $ex)")
  fi
fi

echo
echo "SUMMARY"
printf '  %s\n' "${summary[@]}"
[ $rc_all -eq 0 ] && [ $sanitizer_failures -eq 0 ] && [ $examples_failed -eq 0 ] && echo "  result: PASS" && exit 0
echo "  result: FAIL"
exit 1
