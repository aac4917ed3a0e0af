#!/usr/bin/env python3
"""Compiles one kernels/cuda/*.cu for one architecture into what the report reads:
NAME.sm_XX.cubin, NAME.sm_XX.ptxas.txt (ptxas -v), NAME.sm_XX.sass (nvdisasm) and NAME.sm_XX.d
(the headers it includes, for the build system).

The flags are the library's Release flags (top-level CMakeLists.txt: CMAKE_CUDA_FLAGS_RELEASE
-O3 -DNDEBUG, --expt-relaxed-constexpr, C++20, GANOPS_WITH_CUDA=1, the repository root on
the include path), so the SASS is the SASS the library runs, whatever architectures the
library itself is built for.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

from find_tool import find_tool

LIBRARY_FLAGS = ["--expt-relaxed-constexpr", "-std=c++20", "-O3", "-DNDEBUG", "-DGANOPS_WITH_CUDA=1"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nvcc", required=True)
    ap.add_argument("--arch", required=True, help="e.g. sm_90")
    ap.add_argument("--source", required=True)
    ap.add_argument("--include", required=True, help="repository root")
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()

    stem = os.path.join(a.out_dir, os.path.splitext(os.path.basename(a.source))[0] + "." + a.arch)
    cubin = stem + ".cubin"
    os.makedirs(a.out_dir, exist_ok=True)
    cmd = [a.nvcc, "-cubin", f"-arch={a.arch}", *LIBRARY_FLAGS, f"-I{a.include}", "-Xptxas", "-v",
           "-MD", "-MF", stem + ".d", "-o", cubin, a.source]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.stderr.write(run.stdout + run.stderr)
        sys.stderr.write(f"compile_cubin: nvcc failed on {a.source} for {a.arch}: {' '.join(cmd)}\n")
        return 1
    with open(stem + ".ptxas.txt", "w") as f:
        f.write(run.stderr)

    try:
        nvdisasm = find_tool("nvdisasm", a.nvcc)
    except FileNotFoundError as e:
        sys.stderr.write(f"compile_cubin: {e}\n")
        return 1
    dis = subprocess.run([nvdisasm, "-c", cubin], capture_output=True, text=True)
    if dis.returncode != 0:
        sys.stderr.write(dis.stderr)
        sys.stderr.write(f"compile_cubin: {nvdisasm} failed on {cubin}\n")
        return 1
    # Written last: the build system takes this file's presence as the step's success.
    with open(stem + ".sass", "w") as f:
        f.write(dis.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
