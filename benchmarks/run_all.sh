#!/usr/bin/env bash
# The GPU benchmarks in one command (benchmarks/NOTES.md, "Running the GPU benchmarks"):
# builds the benchmark programs, runs conv_vs_cudnn, ops_vs_cudnn, dcgan_step and
# pytorch_dcgan_step.py, and writes everything they print to a results file that starts
# with the device, date and commit. The last section puts our whole training iteration and
# PyTorch's side by side, then a summary of what ran and whether every check passed.
#
# Usage: benchmarks/run_all.sh [results-file]
#   results-file  default benchmarks/results/<date>-<gpu name>.md
# Environment:
#   BUILD=dir           build folder (default build-bench, git-ignored)
#   CUDA_ARCH=90        CMAKE_CUDA_ARCHITECTURES
#   QUICK=1             fewer repeats (a smoke run of a minute or two, numbers rough)
#   PYTHON=python3      interpreter for the PyTorch script (default: /opt/torch/.venv/bin/python3
#                       when present, else python3; skipped when it has no torch with CUDA)
#   GANOPS_CUDNN_ROOT   a cuDNN installation to use (otherwise CMake searches, PyTorch's venv included)
# When $OUT names a directory, the results file is copied there too.
# Exit status: 0 when everything built, ran and passed its checks.
set -u
caller=$PWD
cd "$(dirname "$0")/.." || exit 1
root=$PWD
export PATH=/usr/local/cuda/bin:/opt/torch/.venv/bin:$PATH
build=${BUILD:-$root/build-bench}

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu" ] || gpu=unknown-gpu
gpu_tag=$(printf '%s' "$gpu" | tr -cs 'A-Za-z0-9._-' '-' | sed 's/^-*//; s/-*$//')
out=${1:-benchmarks/results/$(date -u +%Y-%m-%d)-$gpu_tag.md}
[ $# -ge 1 ] && [[ "$out" != /* ]] && out="$caller/$out"  # a path given is taken from where we were called
mkdir -p "$(dirname "$out")" "$build/logs"

# Read before the results file exists, so that it does not count as a change.
commit=$(git rev-parse HEAD 2>/dev/null || echo "unknown (not a git checkout)")
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit, with uncommitted changes"
fi

if [ "${QUICK:-0}" = 1 ]; then
  conv_args=(--reps 10 --warmup 2); ops_args=(--reps 10 --warmup 2)
  step_args=(--iters 30 --warmup 5 --no-pytorch); py_args=(--iters 30 --warmup 5)
else
  conv_args=(); ops_args=(); step_args=(--no-pytorch); py_args=()  # PyTorch runs below, on its own
fi

python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x /opt/torch/.venv/bin/python3 ]; then python=/opt/torch/.venv/bin/python3; else python=python3; fi
fi

status=()
failed=0

# run NAME COMMAND...: shows the command and its output (also kept in $build/logs/NAME.log)
# and records its exit status.
run() {
  local name=$1
  shift
  echo
  echo "\$ $*"
  echo
  "$@" 2>&1 | tee "$build/logs/$name.log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then
    status+=("$name: ok")
  else
    status+=("$name: FAILED (exit $rc)")
    failed=1
  fi
  return "$rc"
}

build_all() {
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  local cudnn=()
  [ -n "${GANOPS_CUDNN_ROOT:-}" ] && cudnn=(-DGANOPS_CUDNN_ROOT="$GANOPS_CUDNN_ROOT")
  echo "Building in $build (log: $build/logs/build.log)"
  if ! cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" -DGANOPS_BUILD_TESTS=OFF -DGANOPS_BUILD_EXAMPLES=OFF \
        "${cudnn[@]}" >"$build/logs/build.log" 2>&1; then
    tail -40 "$build/logs/build.log"
    return 1
  fi
  grep -E 'ganops( benchmarks)?:' "$build/logs/build.log"
  targets=(dcgan_step)
  if grep -q '^GANOPS_CUDNN_LIBRARY:FILEPATH=.*NOTFOUND' "$build/CMakeCache.txt" ||
     ! grep -q '^GANOPS_CUDNN_LIBRARY:FILEPATH=' "$build/CMakeCache.txt"; then
    echo "cuDNN not found: conv_vs_cudnn and ops_vs_cudnn are not built"
  else
    targets+=(conv_vs_cudnn ops_vs_cudnn)
    cudnn_libdir=$(dirname "$(sed -n 's/^GANOPS_CUDNN_LIBRARY:FILEPATH=//p' "$build/CMakeCache.txt")")
    # libcudnn.so.9 dlopens its engine libraries; make sure the loader finds them.
    export LD_LIBRARY_PATH="$cudnn_libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  if ! cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >>"$build/logs/build.log" 2>&1; then
    grep -E 'error|FAILED' "$build/logs/build.log" | head -30
    tail -20 "$build/logs/build.log"
    return 1
  fi
  echo "Built: ${targets[*]}"
}

# The whole-iteration rows of dcgan_step and the PyTorch script, one table, then the
# medians per batch next to each other.
side_by_side() {
  local logs=("$build/logs/dcgan_step.log" "$build/logs/pytorch.log")
  echo
  echo "## Whole training iteration: libganops and PyTorch side by side"
  echo
  echo "| implementation | mode | batch | ms/iter (median) | ms/iter (min) | wall ms/iter | images/s | peak MiB |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  cat "${logs[@]}" 2>/dev/null | grep -E '^\| (libganops|pytorch)' || echo "| (no rows) | | | | | | | |"
  echo
  cat "${logs[@]}" 2>/dev/null | grep -E '^\| (libganops|pytorch)' | awk -F'|' '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    { impl = trim($2); mode = trim($3); b = trim($4); ms = trim($5)
      if (impl ~ /eager/) next  # ours: the replayed-graph rows
      key = (impl ~ /^libganops/ ? "ours" : "torch") "-" mode
      t[b, key] = ms; if (!(b in seen)) { seen[b] = 1; order[++n] = b } }
    END {
      if (n == 0) exit
      print "| batch | libganops fp32 ms | PyTorch fp32 ms | PyTorch tf32 ms | PyTorch fp32 / libganops | PyTorch tf32 / libganops |"
      print "| ---: | ---: | ---: | ---: | ---: | ---: |"
      for (i = 1; i <= n; ++i) {
        b = order[i]; o = t[b, "ours-fp32"]; f = t[b, "torch-fp32"]; g = t[b, "torch-tf32"]
        rf = (o != "" && f != "") ? sprintf("%.2f", f / o) : "-"
        rg = (o != "" && g != "") ? sprintf("%.2f", g / o) : "-"
        printf "| %s | %s | %s | %s | %s | %s |\n", b, (o == "" ? "-" : o), (f == "" ? "-" : f), (g == "" ? "-" : g), rf, rg
      }
      print ""
      print "Ratios > 1: libganops is faster."
    }'
}

main() {
  echo "# libganops GPU benchmarks"
  echo
  echo "- device: $(nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit,clocks.max.sm --format=csv,noheader 2>/dev/null || echo "$gpu")"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- commit: $commit"
  echo "- host: $(nproc) cores; nvcc $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  echo "- command: benchmarks/run_all.sh $*${QUICK:+ (QUICK=$QUICK)}"
  echo
  if ! build_all; then
    status+=("build: FAILED")
    failed=1
  else
    status+=("build: ok")
    if [ -x "$build/benchmarks/conv_vs_cudnn" ]; then
      run conv_vs_cudnn "$build/benchmarks/conv_vs_cudnn" "${conv_args[@]+"${conv_args[@]}"}"
      run ops_vs_cudnn "$build/benchmarks/ops_vs_cudnn" "${ops_args[@]+"${ops_args[@]}"}"
    else
      status+=("conv_vs_cudnn, ops_vs_cudnn: not built (cuDNN not found)")
    fi
    run dcgan_step "$build/benchmarks/dcgan_step" "${step_args[@]+"${step_args[@]}"}"
  fi
  if "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    run pytorch "$python" benchmarks/pytorch_dcgan_step.py "${py_args[@]+"${py_args[@]}"}"
  else
    echo
    echo "PyTorch with CUDA not available to $python: pytorch_dcgan_step.py skipped"
    status+=("pytorch: skipped (no torch with CUDA for $python)")
  fi
  side_by_side
  echo
  echo "## Summary"
  echo
  for s in "${status[@]}"; do echo "- $s"; done
  grep -h 'Geometric mean' "$build/logs/conv_vs_cudnn.log" 2>/dev/null | sed 's/^/- conv_vs_cudnn: /'
  grep -h 'MISMATCH' "$build/logs/"*.log 2>/dev/null | sed 's/^/- /' | head -50
  if [ "$failed" -eq 0 ]; then echo "- result: PASS"; else echo "- result: FAIL"; fi
  return "$failed"
}

main "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
echo "Results written to $out"
if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then cp "$out" "$OUT/" && echo "Copied to $OUT/$(basename "$out")"; fi
exit "$rc"
