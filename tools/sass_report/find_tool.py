"""Finds nvdisasm and cuobjdump. The CUDA install here has neither; PyPI has both
(pip install nvidia-cuda-nvdisasm nvidia-cuda-cuobjdump), and the wheels put the binaries
in site-packages/nvidia/cuNN/bin (CUDA 13) or nvidia/cuda_<tool>/bin (CUDA 12)."""
from __future__ import annotations

import glob
import importlib.util
import os
import shutil

PIP_HINT = "python3 -m pip install nvidia-cuda-nvdisasm nvidia-cuda-cuobjdump"


def find_tool(name: str, nvcc: str | None = None) -> str:
    """Path of `name`: $NAME (upper case) if set, then PATH, then next to nvcc, then the
    nvidia pip packages."""
    override = os.environ.get(name.upper())
    if override:
        if not os.access(override, os.X_OK):
            raise FileNotFoundError(f"${name.upper()}={override} is not an executable")
        return override
    candidates = [shutil.which(name)]
    if nvcc:
        candidates.append(os.path.join(os.path.dirname(os.path.realpath(nvcc)), name))
    candidates.append("/usr/local/cuda/bin/" + name)
    spec = importlib.util.find_spec("nvidia")
    for root in (spec.submodule_search_locations or []) if spec else []:
        candidates += sorted(glob.glob(os.path.join(root, "*", "bin", name)), reverse=True)
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(f"{name} not found (not on PATH, not beside nvcc, not in a pip package): {PIP_HINT}")
