#!/usr/bin/env bash
# On a Debian build machine: prepares .carry/, the one git-ignored folder that carries to
# the GPU machine what it lacks (../shared/GPU.md): the examples' libraries (CLI11, libpng,
# zlib, libwebp, turbojpeg, lmdb), a Catch2 v2 header, and the Fashion-MNIST files.
#
#   tools/gpu_bundle/prepare.sh            # writes .carry/ (about 33 MiB), prints its size
#
# Debian packages are fetched with apt-get download and unpacked with dpkg -x (an installed
# package's own files are copied instead when the download fails, e.g. offline). Only
# headers, static archives (.a) and CMake/pkg-config files are kept: every .so is dropped,
# so the build links these libraries statically and the programs need nothing from them
# at run time (the GPU machine runs Ubuntu 24.04; Debian 12's archives link against its
# newer glibc). The folder is relocatable: nothing in it names an absolute path.
#
# What it writes:
#   .carry/root/usr/...              the packages' headers, archives, CMake and .pc files
#   .carry/fashion-mnist/*.gz        train and t10k images and labels (IDX, gzip)
#   .carry/ganops-carry.cmake        initial cache: cmake -C .carry/ganops-carry.cmake ...
#   .carry/env.sh                    source it: GANOPS_FASHION_MNIST_DIR, PKG_CONFIG_PATH
#   .carry/MANIFEST                  package versions, file counts and sizes
# tests/run_gpu_suite.sh uses all of them when .carry/ exists.
#
# Environment: CARRY=dir (default .carry in the repository root); LIMIT_MIB (default 64,
# the carry limit: the script fails when the folder is larger).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
carry=${CARRY:-$repo/.carry}
limit_mib=${LIMIT_MIB:-64}
packages=(libcli11-dev libpng-dev zlib1g-dev libwebp-dev libturbojpeg0-dev liblmdb-dev catch2)
data_package=dataset-fashion-mnist
data_dir=/usr/share/datasets/fashion-mnist
data_files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt's download user must be able to write here
stage=$work/bundle
mkdir -p "$work/debs" "$stage/root" "$stage/fashion-mnist"
manifest=()

# fetch PACKAGE: unpacks the package into $stage/root, from a download or the installed files.
fetch() {
    local pkg=$1 deb
    if (cd "$work/debs" && apt-get download -q "$pkg" >"$work/apt-$pkg.log" 2>&1); then
        deb=$(find "$work/debs" -name "${pkg}_*.deb" | head -1)
        dpkg -x "$deb" "$stage/root"
        manifest+=("$pkg $(dpkg-deb -f "$deb" Version) (apt-get download, dpkg -x)")
    elif dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        echo "prepare: apt-get download $pkg failed ($(tail -1 "$work/apt-$pkg.log")); copying the installed files" >&2
        dpkg -L "$pkg" | while read -r f; do if [ -f "$f" ] || [ -L "$f" ]; then echo "${f#/}"; fi; done |
            tar -C / -cf - -T - | tar -C "$stage/root" -xf -
        manifest+=("$pkg $(dpkg-query -W -f='${Version}' "$pkg") (installed files)")
    else
        echo "prepare: cannot fetch $pkg: apt-get download failed and it is not installed" >&2
        cat "$work/apt-$pkg.log" >&2
        exit 1
    fi
}

for pkg in "${packages[@]}"; do fetch "$pkg"; done

# Keep what a build reads; drop documentation, programs and every shared library (the
# dangling .so links of -dev packages would otherwise be found before the archives).
r=$stage/root
rm -rf "${r:?}/usr/share/doc" "${r:?}/usr/share/man" "${r:?}/usr/bin" "${r:?}/usr/share/lintian"
find "$r" \( -name '*.so' -o -name '*.so.*' \) -exec rm -f {} +
# Catch2: the single header is all the tests use (no CMake package, no prebuilt main).
rm -rf "$r/usr/lib/cmake/Catch2" "$r/usr/lib/libCatch2WithMain.a" "$r/usr/share/pkgconfig/catch2.pc" "$r/usr/share/Catch2"
# libjpeg-turbo's CMake package names the shared library just removed; the build finds
# turbojpeg by header and archive instead.
rm -rf "$r/usr/lib/x86_64-linux-gnu/cmake/libjpeg-turbo"
find "$r" -depth -type d -empty -delete
# Plain files only, in case links do not survive the trip: a link to a folder goes (libpng
# -> libpng16: the build uses neither name), a link to a file becomes a copy; libpng.a is
# dropped, as FindPNG takes libpng16.a.
rm -f "$r/usr/lib/x86_64-linux-gnu/libpng.a"
while IFS= read -r link; do
    target=$(readlink -f "$link")
    if [ -d "$target" ]; then rm -f "$link"; else cp --remove-destination "$target" "$link"; fi
done < <(find "$r" -type l)

# pkg-config files name /usr: make them relative to where they lie.
while IFS= read -r pc; do
    rel=${pc#"$r"/usr/}                      # e.g. lib/x86_64-linux-gnu/pkgconfig/zlib.pc
    up=$(dirname "$rel" | sed 's#[^/][^/]*#..#g')  # one .. per directory below usr
    sed -i -E "s#^(prefix|exec_prefix|libdir|sharedlibdir|includedir)=/usr#\1=\${pcfiledir}/$up#" "$pc"
done < <(find "$r" -name '*.pc')

for need in include/CLI/CLI.hpp include/png.h include/zlib.h include/webp/decode.h include/turbojpeg.h include/lmdb.h \
            include/catch2/catch.hpp share/cmake/CLI11/CLI11Config.cmake lib/x86_64-linux-gnu/libpng16.a \
            lib/x86_64-linux-gnu/libz.a lib/x86_64-linux-gnu/libwebp.a lib/x86_64-linux-gnu/libturbojpeg.a \
            lib/x86_64-linux-gnu/liblmdb.a; do
    [ -e "$r/usr/$need" ] || { echo "prepare: usr/$need missing from the unpacked packages" >&2; exit 1; }
done

# Fashion-MNIST: the installed package's files, else the package unpacked.
if ! (for f in "${data_files[@]}"; do cp "$data_dir/$f" "$stage/fashion-mnist/" || exit 1; done) 2>/dev/null; then
    (cd "$work/debs" && apt-get download -q "$data_package" >"$work/apt-data.log" 2>&1) ||
        { echo "prepare: Fashion-MNIST is neither installed in $data_dir nor downloadable:" >&2; cat "$work/apt-data.log" >&2; exit 1; }
    dpkg -x "$(find "$work/debs" -name "${data_package}_*.deb" | head -1)" "$work/data"
    for f in "${data_files[@]}"; do cp "$work/data$data_dir/$f" "$stage/fashion-mnist/"; done
    manifest+=("$data_package (apt-get download, dpkg -x)")
else
    manifest+=("$data_package $(dpkg-query -W -f='${Version}' "$data_package" 2>/dev/null || echo '?') (installed files)")
fi

cat >"$stage/ganops-carry.cmake" <<'EOF'
# Initial cache written by tools/gpu_bundle/prepare.sh: a configure that finds the carried
# packages first.   cmake -C .carry/ganops-carry.cmake -S . -B build ...
# Paths are taken from where this file lies, so the folder may move with the working tree.
get_filename_component(_ganops_carry "${CMAKE_CURRENT_LIST_DIR}" ABSOLUTE)
# Searched before the system's directories by find_package, find_path and find_library.
set(CMAKE_PREFIX_PATH "${_ganops_carry}/root/usr" CACHE STRING "carried packages (tools/gpu_bundle)")
# Catch2 v2's single header, ahead of a Catch2 v3 the machine may have (tests/CMakeLists.txt).
set(GANOPS_CATCH2_V2_INCLUDE "${_ganops_carry}/root/usr/include" CACHE PATH "Catch2 v2 header folder (carried)")
# CMake 4 refuses packages written for CMake < 3.5; Debian's CLI11 says 2.6...3.19. Ignored by CMake 3.
set(CMAKE_POLICY_VERSION_MINIMUM 3.5 CACHE STRING "")
EOF

cat >"$stage/env.sh" <<'EOF'
# Source this (written by tools/gpu_bundle/prepare.sh): the carried data and packages.
_ganops_carry=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export GANOPS_FASHION_MNIST_DIR=$_ganops_carry/fashion-mnist
export PKG_CONFIG_PATH=$_ganops_carry/root/usr/lib/x86_64-linux-gnu/pkgconfig:$_ganops_carry/root/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export GANOPS_CARRY_CMAKE=$_ganops_carry/ganops-carry.cmake
EOF

{
    echo "# .carry/ written by tools/gpu_bundle/prepare.sh on $(hostname) ($(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)), $(date -u '+%Y-%m-%d %H:%M UTC')"
    printf '%s\n' "${manifest[@]}"
    echo
    echo "# files and bytes per top-level entry"
    (cd "$stage" && for e in *; do printf '%s %s files %s bytes\n' "$e" "$(find "$e" -type f | wc -l)" "$(du -sb "$e" | cut -f1)"; done)
} >"$stage/MANIFEST"

bytes=$(du -sb "$stage" | cut -f1)
if [ "$bytes" -gt $((limit_mib * 1024 * 1024)) ]; then
    echo "prepare: the bundle holds $bytes bytes, over the carry limit of $limit_mib MiB" >&2
    exit 1
fi
rm -rf "$carry"
mkdir -p "$(dirname "$carry")"
cp -a "$stage" "$carry"
echo "prepare: wrote $carry: $(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }') ($bytes bytes, limit $limit_mib MiB), $(find "$carry" -type f | wc -l) files"
sed -n '2,/^$/p' "$carry/MANIFEST" | sed '/^$/d; s/^/  /'
