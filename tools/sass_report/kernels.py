"""What the report knows about the library's kernels beyond their SASS: readable names, the
block size each is launched with, and which class of bounds applies to it."""
from __future__ import annotations

import re
import shutil
import subprocess

# Threads per block each kernel is launched with, by kernel name (no namespace, no template
# arguments). Every launch in kernels/cuda passes kThreads (launch.cuh) or kGemmThreads
# (implicit_gemm.cuh, static_assert'ed equal to kThreads): 256 today. test_block_sizes.py reads
# the GANOPS_LAUNCH lines of kernels/cuda and fails when a launch passes another block size
# than this table gives, so a kernel launched differently gets its line here.
LAUNCH_CONSTANTS = {"kThreads": 256, "kGemmThreads": 256}
DEFAULT_BLOCK = "kThreads"
BLOCK_SIZES = {
    "gemm_kernel": "kGemmThreads",
    "mma_gemm": "kMmaThreads",  # implicit_gemm_mma.cuh launches mma_gemm_kernel<...> through this alias
    "mma_gemm_async": "kMmaThreads",  # ... and mma_gemm_async_kernel<...> (the cp.async pipeline)
}
# The tensor-core GEMM's block size follows its tile (kernels/cuda/mma_plan.h, TileConfig in
# declaration order: Wide 4 x 2 warps, Square 2 x 2, Narrow 4 x 1, Large 2 x 4); test_kernels.py
# reads them.
MMA_TILE_THREADS = {0: 256, 1: 128, 2: 128, 3: 256}
_MMA_TILE = re.compile(r"TileConfig\)(\d+)|TileConfig::(Wide|Square|Narrow|Large)")
_MMA_TILE_NAMES = {"Wide": 0, "Square": 1, "Narrow": 2, "Large": 3}


def block_size(base_name: str, display: str = "") -> int:
    """Threads per block of a kernel; `display` (its display name) where the template
    arguments decide it."""
    if base_name in ("mma_gemm_kernel", "mma_gemm_async_kernel"):
        m = _MMA_TILE.search(display)
        if m is None:
            raise ValueError(f"{display!r}: no TileConfig template argument to size the block by")
        return MMA_TILE_THREADS[int(m.group(1)) if m.group(1) else _MMA_TILE_NAMES[m.group(2)]]
    return LAUNCH_CONSTANTS[BLOCK_SIZES.get(base_name, DEFAULT_BLOCK)]


# Dynamic shared memory the library launches mma_gemm_async_kernel with, by tile
# (mma_plan.h's async_shared_bytes: 3 stages of fp32 tiles 32 deep, rows padded);
# test_kernels.py recomputes them from mma_plan.h.
MMA_ASYNC_SHARED_BYTES = {0: 82944, 1: 55296, 2: 64512, 3: 110592}


def dynamic_shared_bytes(base_name: str, display: str = "") -> int:
    """Dynamic shared memory per block at the library's launch (0 for static-only kernels)."""
    if base_name == "mma_gemm_async_kernel":
        m = _MMA_TILE.search(display)
        if m is None:
            raise ValueError(f"{display!r}: no TileConfig template argument to size the shared memory by")
        return MMA_ASYNC_SHARED_BYTES[int(m.group(1)) if m.group(1) else _MMA_TILE_NAMES[m.group(2)]]
    return 0


def demangle(names: list[str]) -> dict[str, str]:
    """C++ names for mangled ones, through binutils' c++filt (installed with g++)."""
    cxxfilt = shutil.which("c++filt")
    if cxxfilt is None:
        raise RuntimeError("c++filt not found: install binutils")
    out = subprocess.run([cxxfilt], input="\n".join(names) + "\n", capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    if len(lines) != len(names):
        raise RuntimeError(f"c++filt returned {len(lines)} names for {len(names)}")
    return dict(zip(names, lines))


def display_name(demangled: str) -> str:
    """`void ganops::cuda::gemm::gemm_kernel<ganops::cuda::conv::Forward>(...)` ->
    `gemm::gemm_kernel<conv::Forward>`: short enough for a table, unique within a file."""
    name = demangled.strip()
    if name.startswith("void "):
        name = name[len("void "):]
    name = _strip_parameters(name)
    for noise in ("ganops::cuda::", "(anonymous namespace)::"):
        name = name.replace(noise, "")
    return name


def base_name(display: str) -> str:
    """`gemm::gemm_kernel<conv::Forward>` -> `gemm_kernel`."""
    depth, plain = 0, []
    for ch in display:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            plain.append(ch)
    return "".join(plain).split("::")[-1]


def _strip_parameters(name: str) -> str:
    # The parameter list is the last top-level parenthesised group.
    if not name.endswith(")"):
        return name
    depth = 0
    for i in range(len(name) - 1, -1, -1):
        if name[i] == ")":
            depth += 1
        elif name[i] == "(":
            depth -= 1
            if depth == 0:
                return name[:i]
    return name


GEMM = "gemm/conv"
OTHER = "elementwise/reduction"

_TENSOR_CORE = re.compile(r"(^|_)(tc|mma|wmma|hmma)(_|$)")


def kernel_class(base: str) -> str:
    """GEMM/conv main loops carry the issue's targets; everything else is memory-bound."""
    return GEMM if ("gemm" in base or "conv" in base) else OTHER


def is_tensor_core(base: str) -> bool:
    """A tensor-core path names itself: a `tc` or `mma` word in the kernel's name."""
    return bool(_TENSOR_CORE.search(base))


_ASYNC_COPY = re.compile(r"(^|_)async(_|$)")


def is_async_copy(base: str) -> bool:
    """A cp.async pipeline names itself: an `async` word in the kernel's name."""
    return bool(_ASYNC_COPY.search(base))
