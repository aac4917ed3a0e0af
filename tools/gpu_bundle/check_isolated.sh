#!/usr/bin/env bash
# Checks, on the build machine, that .carry/ alone serves the build as on the GPU machine:
# in a private mount namespace where every file of the carried Debian packages (and the
# Fashion-MNIST package) is hidden from /usr by an overlay, it configures with
# .carry/ganops-carry.cmake, checks that every dependency resolved into .carry/, builds,
# checks that the programs need none of the carried libraries at run time (static), and
# runs a data-reading test and two DCGAN iterations on the carried Fashion-MNIST.
#
#   tools/gpu_bundle/prepare.sh && tools/gpu_bundle/check_isolated.sh [build-dir]
#
# Needs root (unshare -m, overlayfs). The build is CPU-only by default (quicker; the
# examples and the packages do not depend on CUDA): CUDA=ON builds the CUDA side too.
# TARGETS="..." limits what is built (default: everything).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
carry=$repo/.carry
build=${1:-/tmp/ganops-carry-check}
packages=(libcli11-dev libpng-dev zlib1g-dev libwebp-dev libturbojpeg0-dev liblmdb-dev catch2 dataset-fashion-mnist)
[ -f "$carry/ganops-carry.cmake" ] || { echo "check: no $carry/ganops-carry.cmake: run tools/gpu_bundle/prepare.sh first" >&2; exit 1; }

if [ "${_GANOPS_CARRY_ISOLATED:-}" != 1 ]; then
    ovl=$(mktemp -d)
    trap 'rm -rf "$ovl"' EXIT
    mkdir -p "$ovl/up" "$ovl/work"
    hidden=0
    for pkg in "${packages[@]}"; do
        while IFS= read -r f; do
            case $f in /usr/*) ;; *) continue ;; esac
            if [ -f "$f" ] || [ -L "$f" ]; then
                rel=${f#/usr/}
                mkdir -p "$ovl/up/$(dirname "$rel")"
                mknod "$ovl/up/$rel" c 0 0  # an overlay whiteout: the file is absent above
                hidden=$((hidden + 1))
            fi
        done < <(dpkg -L "$pkg" 2>/dev/null || true)
    done
    echo "check: hiding $hidden files of ${packages[*]} from /usr"
    _GANOPS_CARRY_ISOLATED=1 OVL=$ovl unshare -m --propagation private bash "$0" "$@"
    exit $?
fi

# ---- inside the namespace ----
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$OVL/up,workdir=$OVL/work" /usr
for f in /usr/include/zlib.h /usr/include/png.h /usr/include/CLI/CLI.hpp /usr/include/webp/decode.h /usr/include/turbojpeg.h \
         /usr/include/lmdb.h /usr/include/catch2/catch.hpp /usr/share/cmake/CLI11/CLI11Config.cmake \
         /usr/lib/x86_64-linux-gnu/libz.a /usr/lib/x86_64-linux-gnu/libpng16.so /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz; do
    if [ -e "$f" ]; then echo "check: $f is still visible: the overlay did not hide it" >&2; exit 1; fi
done
echo "check: the system's copies are hidden (e.g. /usr/include/zlib.h, /usr/include/CLI, Fashion-MNIST)"

rm -rf "$build"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -C "$carry/ganops-carry.cmake" -S "$repo" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DGANOPS_ENABLE_CUDA="${CUDA:-OFF}" -DGANOPS_BUILD_EMULATED=OFF -DGANOPS_BUILD_BENCHMARKS=OFF >"$build.configure.log" 2>&1 ||
    { tail -30 "$build.configure.log"; echo "check: FAIL: configure" >&2; exit 1; }

bad=0
for var in CLI11_DIR ZLIB_INCLUDE_DIR ZLIB_LIBRARY_RELEASE PNG_PNG_INCLUDE_DIR PNG_LIBRARY_RELEASE DCGAN_WEBP_INCLUDE_DIR \
           DCGAN_WEBP_LIBRARY DCGAN_TURBOJPEG_INCLUDE_DIR DCGAN_TURBOJPEG_LIBRARY DCGAN_LMDB_INCLUDE_DIR DCGAN_LMDB_LIBRARY \
           GANOPS_CATCH2_V2_INCLUDE; do
    value=$(sed -n "s/^$var:[A-Z]*=//p" "$build/CMakeCache.txt")
    case $value in
    "$carry"/*) printf '  %-28s %s\n' "$var" "${value#"$repo"/}" ;;
    *) printf '  %-28s %s   <- NOT in .carry\n' "$var" "${value:-(unset)}"; bad=1 ;;
    esac
done
[ $bad = 0 ] || { echo "check: FAIL: some packages resolved outside .carry" >&2; exit 1; }

start=$SECONDS
# shellcheck disable=SC2086  # TARGETS is a list
cmake --build "$build" -j "$(nproc)" ${TARGETS:+--target $TARGETS} >"$build.build.log" 2>&1 ||
    { grep -E 'error|FAILED' "$build.build.log" | head -20; echo "check: FAIL: build" >&2; exit 1; }
echo "check: built in $((SECONDS - start)) s ($build.build.log)"

programs=()
for p in examples/dcgan_bedroom/dcgan_bedroom examples/fashion_classifier/fashion_classifier examples/gan_family/gan_mlp \
         examples/gan_family/dcgan_probe; do
    [ -x "$build/$p" ] && programs+=("$build/$p")
done
for p in "${programs[@]}"; do
    needed=$(readelf -d "$p" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
    if echo "$needed" | grep -qE 'libpng|libz\.|libwebp|libturbojpeg|liblmdb'; then
        echo "check: FAIL: $(basename "$p") needs a carried library at run time: $needed" >&2
        exit 1
    fi
    echo "  $(basename "$p") needs: $needed"
done

# shellcheck source=/dev/null
. "$carry/env.sh"
if [ -x "$build/examples/common/test_sample_quality" ]; then
    (cd "$build" && OMP_NUM_THREADS=2 examples/common/test_sample_quality >"$build.sample_quality.log" 2>&1) ||
        { tail -20 "$build.sample_quality.log"; echo "check: FAIL: test_sample_quality on the carried data" >&2; exit 1; }
    echo "check: test_sample_quality passed on \$GANOPS_FASHION_MNIST_DIR=$GANOPS_FASHION_MNIST_DIR"
fi
if [ -x "$build/examples/dcgan_bedroom/dcgan_bedroom" ]; then
    "$build/examples/dcgan_bedroom/dcgan_bedroom" --dataroot "$GANOPS_FASHION_MNIST_DIR" --imageSize 32 --ngf 4 --ndf 4 \
        --batchSize 16 --max-iters 2 --device cpu --outf "$build.dcgan" >"$build.dcgan.log" 2>&1 ||
        { tail -20 "$build.dcgan.log"; echo "check: FAIL: dcgan_bedroom on the carried data" >&2; exit 1; }
    echo "check: dcgan_bedroom trained 2 iterations on the carried data: $(grep -E '^\[' "$build.dcgan.log" | tail -1 | cut -c1-80)"
fi
echo "check: PASS: .carry/ alone configures, builds and runs the examples"
