#!/usr/bin/env bash
# On the GPU machine: builds library, tests, examples and benchmarks from the working tree
# and .carry/ (what that machine lacks: tools/gpu_bundle/prepare.sh on a build machine),
# then runs the stages in order, each under its own time limit with a one-line verdict,
# and ends with a summary whose last line is PASS or FAIL.
#
#   tests/run_gpu_suite.sh                                  # every stage
#   STAGES="build tests sanitizers" tests/run_gpu_suite.sh  # a chosen few, in this order
#
# Stages (default: build tests sanitizers dcgan bench):
#   build       configure (with .carry/ganops-carry.cmake when present) and build everything
#   tests       ctest -L gpu: the GPU tests, [large] cases included
#   cputests    ctest -LE gpu: the CPU tests on this machine (not in the default list)
#   sanitizers  every GPU test (but its [large] cases) under compute-sanitizer memcheck,
#               racecheck, synccheck and initcheck, side by side, with GANOPS_SYNC_LAUNCHES=1;
#               initcheck without GANOPS_POISON_ALLOCATIONS (poisoning would initialise)
#   dcgan       dcgan_bedroom at 64x64, batch 128, on Fashion-MNIST: one epoch, images/s
#   quality     the sample classifier, the dcgan run's sample quality and the linear probe
#               (after dcgan; not in the default list)
#   bench       benchmarks/run_all.sh in the same build folder (results file in the logs)
# A cold build on 16 cores plus every default stage may not fit one 10-minute call: the
# suite stops starting stages when SUITE_BUDGET runs low and names the ones left, e.g.
#   STAGES="build tests sanitizers"   then   STAGES="build dcgan bench"
# (build is then a quick no-op when the build folder is kept).
#
# Environment: BUILD (build folder, default build-gpu in the repository: git-ignored and
# kept between calls), LOGS (default $OUT/gpu-suite when $OUT is set, else
# /tmp/ganops-gpu-suite), SUITE_BUDGET (seconds for everything, default 570), per-stage
# limits T_BUILD T_TESTS T_CPUTESTS T_SANITIZERS T_DCGAN T_QUALITY T_BENCH, DCGAN_ARGS
# (default "--niter 1"), QUICK=1 (benchmarks with fewer repeats).
set -u
cd "$(dirname "$0")/.." || exit 1
root=$PWD
start=$SECONDS
export PATH=/usr/local/cuda/bin:/opt/torch/.venv/bin:$PATH
build=${BUILD:-$root/build-gpu}
if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then logs=${LOGS:-$OUT/gpu-suite}; else logs=${LOGS:-/tmp/ganops-gpu-suite}; fi
mkdir -p "$logs"
stages=${STAGES:-build tests sanitizers dcgan bench}
budget=${SUITE_BUDGET:-570}
carry=$root/.carry
# shellcheck source=/dev/null
[ -f "$carry/env.sh" ] && . "$carry/env.sh"
data=${GANOPS_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}

summary=()
failed=0
left=()
verdict() {  # verdict STAGE OK|FAIL|SKIP TEXT...
    local stage=$1 state=$2
    shift 2
    local line
    line=$(printf '%-11s %-4s %s [%ds]' "$stage:" "$state" "$*" $((SECONDS - stage_start)))
    echo "== $line"
    summary+=("$line")
    [ "$state" = FAIL ] && failed=1
    return 0
}
# limit SECONDS: the stage's limit, cut to what the suite budget has left (keeping 20 s for
# the summary); prints 0 when too little is left to start.
limit() {
    local remaining=$((budget - (SECONDS - start) - 20))
    if [ "$remaining" -lt 30 ]; then echo 0; elif [ "$1" -lt "$remaining" ]; then echo "$1"; else echo "$remaining"; fi
}
has() { command -v "$1" >/dev/null 2>&1; }
run_limited() {  # run_limited SECONDS LOG COMMAND...: returns the command's status, 124 on timeout
    local seconds=$1 log=$2
    shift 2
    timeout --kill-after=10 "$seconds" "$@" >"$log" 2>&1
}

# ---- tools: what this machine has (each stage checks what it needs) ----
stage_start=$SECONDS
echo "ganops GPU suite: stages: $stages; build $build; logs $logs; budget ${budget}s"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ' (with uncommitted changes)')"
if has nvidia-smi; then
    gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
    echo "GPU: ${gpu:-nvidia-smi found no GPU}"
else
    gpu=""
    echo "GPU: nvidia-smi not found"
fi
tools=()
for t in nvcc cmake ninja compute-sanitizer python3; do
    if has "$t"; then tools+=("$t"); else tools+=("$t:MISSING"); fi
done
torch=$(python3 -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "no-cuda")' 2>/dev/null || echo none)
echo "tools: ${tools[*]}; torch: $torch; carried folder: $([ -d "$carry" ] && echo yes || echo 'NO (tools/gpu_bundle/prepare.sh)')"
echo "nvcc: $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p'), cmake: $(cmake --version 2>/dev/null | head -1 | awk '{print $3}'), g++: $(g++ -dumpfullversion 2>/dev/null)"
[ -n "$gpu" ] || verdict tools FAIL "no GPU visible (nvidia-smi)"

# Stages after build need one: this call's, or a kept folder when build is not asked for.
built=0
if [[ " $stages " != *" build "* ]] && [ -f "$build/CMakeCache.txt" ]; then built=1; fi

for stage in $stages; do
    stage_start=$SECONDS
    case $stage in
    build | tests | cputests | sanitizers | dcgan | quality | bench) ;;
    *) verdict "$stage" FAIL "unknown stage (build tests cputests sanitizers dcgan quality bench)"; continue ;;
    esac
    if [ "$stage" != build ] && [ "$built" != 1 ]; then
        verdict "$stage" SKIP "no build"; failed=1; continue
    fi
    case $stage in
    build) t=$(limit "${T_BUILD:-330}") ;; tests) t=$(limit "${T_TESTS:-150}") ;;
    cputests) t=$(limit "${T_CPUTESTS:-300}") ;; sanitizers) t=$(limit "${T_SANITIZERS:-240}") ;;
    dcgan) t=$(limit "${T_DCGAN:-150}") ;; quality) t=$(limit "${T_QUALITY:-300}") ;; bench) t=$(limit "${T_BENCH:-300}") ;;
    esac
    if [ "$t" = 0 ]; then
        verdict "$stage" SKIP "suite budget spent"; left+=("$stage"); failed=1; continue
    fi

    case $stage in
    build)
        missing=()
        for tool in nvcc cmake; do has "$tool" || missing+=("$tool"); done
        if [ ${#missing[@]} -gt 0 ]; then verdict build FAIL "missing: ${missing[*]}"; built=-1; continue; fi
        # Everything on (the bench stage's run_all.sh turns tests and examples off in the cache);
        # the CPU execution mode is for machines without a GPU.
        args=(-S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DGANOPS_BUILD_TESTS=ON
              -DGANOPS_BUILD_EXAMPLES=ON -DGANOPS_BUILD_BENCHMARKS=ON -DGANOPS_BUILD_EMULATED=OFF)
        [ -f "$carry/ganops-carry.cmake" ] && args=(-C "$carry/ganops-carry.cmake" "${args[@]}")
        has ninja && [ ! -f "$build/Makefile" ] && args+=(-G Ninja)
        t0=$SECONDS
        if ! run_limited "$t" "$logs/configure.log" cmake "${args[@]}"; then
            tail -30 "$logs/configure.log"
            verdict build FAIL "configure failed (configure.log)"; built=-1; continue
        fi
        if run_limited $((t - (SECONDS - t0))) "$logs/build.log" cmake --build "$build" -j "$(nproc)"; then
            built=1
            warnings=$(grep -c -i 'warning' "$logs/build.log")
            verdict build OK "$(grep -c '^\[' "$logs/build.log") steps, $warnings warning lines (build.log)"
        else
            rc=$?
            grep -E 'error|FAILED' "$logs/build.log" | head -20
            tail -10 "$logs/build.log"
            built=-1
            if [ $rc = 124 ]; then verdict build FAIL "time limit ${t}s reached (build.log)"; else verdict build FAIL "build failed (build.log)"; fi
        fi
        ;;

    tests | cputests)
        if [ "$stage" = tests ]; then select=(-L gpu); else select=(-LE gpu); fi
        run_limited "$t" "$logs/$stage.log" ctest --test-dir "$build" "${select[@]}" -j 8 --output-on-failure --timeout "$t"
        rc=$?
        result=$(grep -E 'tests passed|tests failed' "$logs/$stage.log" | tail -1)
        if [ $rc = 0 ]; then
            verdict "$stage" OK "$result"
        else
            grep -E '^\s*[0-9]+ - |Failed|\*\*\*' "$logs/$stage.log" | tail -15
            [ $rc = 124 ] && result="time limit ${t}s reached; $result"
            verdict "$stage" FAIL "${result:-ctest failed} ($stage.log)"
        fi
        ;;

    sanitizers)
        if ! has compute-sanitizer; then verdict sanitizers FAIL "compute-sanitizer not found"; continue; fi
        exes=()
        for t_name in $(ctest --test-dir "$build" -L gpu -N | sed -n 's/^ *Test *#[0-9]*: //p'); do
            exe=$(find "$build" -type f -name "$t_name" -perm -u+x | head -1)
            [ -n "$exe" ] && exes+=("$exe")
        done
        if [ ${#exes[@]} = 0 ]; then verdict sanitizers FAIL "no GPU test programs in $build"; continue; fi
        # Every (tool, test) pair at once: one GPU, 16 cores, independent processes.
        pids=()
        runs=()
        for exe in "${exes[@]}"; do
            for tool in memcheck racecheck synccheck initcheck; do
                name=$tool-$(basename "$exe")
                if [ $tool = initcheck ]; then poison=(-u GANOPS_POISON_ALLOCATIONS); else poison=(GANOPS_POISON_ALLOCATIONS=1); fi
                # [large] cases (batch-128 layers, long runs) take too long instrumented. Failing
                # runtime calls are the tests' own business (e.g. the out-of-memory message test,
                # cudaEventQuery's "not ready"): the library turns them into errors the tests see.
                env "${poison[@]}" GANOPS_SYNC_LAUNCHES=1 OMP_NUM_THREADS=1 \
                    timeout --kill-after=10 "$t" compute-sanitizer --tool $tool --error-exitcode 99 \
                    --report-api-errors no "$exe" "~[large]" >"$logs/sanitizer-$name.log" 2>&1 &
                pids+=($!)
                runs+=("$name")
            done
        done
        bad=()
        for i in "${!pids[@]}"; do
            wait "${pids[$i]}"
            rc=$?
            log=$logs/sanitizer-${runs[$i]}.log
            if [ $rc = 0 ]; then continue; fi
            if [ $rc = 124 ] || [ $rc = 137 ]; then bad+=("${runs[$i]}: time limit"); else bad+=("${runs[$i]}: exit $rc"); fi
            echo "--- ${runs[$i]} (exit $rc), from $log:"
            grep -E '=========|FAILED|failed' "$log" | head -15
            tail -5 "$log"
        done
        if [ ${#bad[@]} = 0 ]; then
            verdict sanitizers OK "${#runs[@]} runs clean (memcheck racecheck synccheck initcheck x ${#exes[@]} tests)"
        else
            verdict sanitizers FAIL "${#bad[@]} of ${#runs[@]}: $(IFS=';'; echo "${bad[*]}") (sanitizer-*.log)"
        fi
        ;;

    dcgan)
        out=$logs/dcgan64
        rm -rf "$out"
        # shellcheck disable=SC2086  # DCGAN_ARGS is a list of options
        run_limited "$t" "$logs/dcgan64.log" "$build/examples/dcgan_bedroom/dcgan_bedroom" --dataroot "$data" \
            --imageSize 64 --batchSize 128 --sample-every 0 --outf "$out" ${DCGAN_ARGS:---niter 1}
        rc=$?
        rate=$(grep -oE '[0-9.]+ img/s' "$logs/dcgan64.log" | tail -1)
        last=$(grep -E '^\[[0-9]+/[0-9]+\]' "$logs/dcgan64.log" | tail -1 | cut -c1-110)
        if [ $rc = 0 ]; then
            verdict dcgan OK "64x64 batch 128: ${rate:-no rate printed}; last: $last"
        else
            tail -15 "$logs/dcgan64.log"
            if [ $rc = 124 ]; then verdict dcgan FAIL "time limit ${t}s reached at ${rate:-?} (dcgan64.log)"
            else verdict dcgan FAIL "exit $rc (dcgan64.log)"; fi
        fi
        ;;

    quality)
        bin=$build/examples
        q=$logs/quality
        mkdir -p "$q"
        if [ ! -f "$logs/dcgan64/netG_epoch_000.safetensors" ]; then verdict quality SKIP "needs the dcgan stage's weights"; failed=1; continue; fi
        t0=$SECONDS
        if run_limited "$t" "$q/classifier.log" "$bin/fashion_classifier/fashion_classifier" --dataroot "$data" --epochs 3 \
               --out "$q/classifier.safetensors" &&
           run_limited $((t - (SECONDS - t0))) "$q/evaluate.log" "$bin/dcgan_bedroom/dcgan_bedroom" evaluate \
               --netG "$logs/dcgan64/netG_epoch_000.safetensors" --classifier "$q/classifier.safetensors" --n 10000 &&
           run_limited $((t - (SECONDS - t0))) "$q/probe.log" "$bin/gan_family/dcgan_probe" --dataroot "$data" \
               --netD "$logs/dcgan64/netD_epoch_000.safetensors" --imageSize 64; then
            verdict quality OK "$(grep -h 'test accuracy' "$q/classifier.log" | tail -1); $(grep -h -i 'frechet\|coverage' "$q/evaluate.log" | tail -1); $(grep -h 'linear-probe' "$q/probe.log" | tr '\n' ' ')"
        else
            tail -10 "$q"/*.log
            verdict quality FAIL "see $q/*.log"
        fi
        ;;

    bench)
        has python3 && [ "$torch" = none ] && echo "bench: python3 has no torch: the PyTorch comparison is skipped"
        # The benchmark programs are built by the build stage already; run_all.sh reconfigures
        # the same folder with the same CUDA architecture (nothing is rebuilt).
        BUILD=$build CUDA_ARCH=90 run_limited "$t" "$logs/bench.log" benchmarks/run_all.sh "$logs/bench-results.md"
        rc=$?
        ratio=$(grep -E '^\| 128 \|' "$logs/bench.log" | tail -1)
        if [ $rc = 0 ]; then
            verdict bench OK "results in bench-results.md; batch 128 (ours vs PyTorch): ${ratio:-no row}"
        else
            grep -E '^- ' "$logs/bench.log" | tail -12
            if [ $rc = 124 ]; then verdict bench FAIL "time limit ${t}s reached (bench.log; QUICK=1 is faster)"
            else verdict bench FAIL "exit $rc (bench.log)"; fi
        fi
        ;;
    esac
done

echo
echo "SUMMARY ($(git rev-parse --short HEAD 2>/dev/null || echo '?'), ${gpu:-no GPU}, $((SECONDS - start)) s; logs in $logs)"
printf '  %s\n' "${summary[@]}"
if [ ${#left[@]} -gt 0 ]; then
    next=${left[*]}
    [[ " $next " == *" build "* ]] || next="build $next"
    echo "  not run: ${left[*]}; next call: STAGES=\"$next\" tests/run_gpu_suite.sh (a kept build folder makes build quick)"
fi
if [ $failed = 0 ]; then echo "PASS"; exit 0; fi
echo "FAIL"
exit 1
