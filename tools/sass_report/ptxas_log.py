"""Reads what `nvcc -Xptxas -v` prints per kernel: registers, spills, stack, shared memory.

    ptxas info    : Compiling entry function '_Z6kernelPf' for 'sm_90'
    ptxas info    : Function properties for _Z6kernelPf
        8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads
    ptxas info    : Used 64 registers, used 1 barriers, 8 bytes cumulative stack size, 8256 bytes smem, 536 bytes cmem[0]

ptxas is the source for spills: cuobjdump -res-usage has no spill counts, and on sm_90 its
SHARED column adds the driver's reserved 1 KiB to kernels that use shared memory, which the
occupancy calculation adds itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_ENTRY = re.compile(r"Compiling entry function '([^']+)' for '(sm_\w+)'")
_PROPERTIES = re.compile(r"Function properties for (\S+)")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"ptxas info\s*:\s*Used (\d+) registers")
_SMEM = re.compile(r"(\d+) bytes smem")
_BARRIERS = re.compile(r"used (\d+) barriers")


@dataclass
class Resources:
    arch: str
    registers: int
    smem: int  # static shared memory the kernel declares, bytes
    stack_frame: int  # local memory per thread, bytes (spills and local arrays)
    spill_stores: int  # bytes
    spill_loads: int  # bytes
    barriers: int


class PtxasLogError(ValueError):
    pass


def parse(text: str, origin: str = "<ptxas output>") -> dict[str, Resources]:
    """Resources of each entry function (kernel) by mangled name."""
    entries: dict[str, str] = {}  # name -> arch
    frames: dict[str, tuple[int, int, int]] = {}
    used: dict[str, tuple[int, int, int]] = {}
    current_entry = None
    properties_of = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if m := _ENTRY.search(line):
            current_entry = m.group(1)
            entries[current_entry] = m.group(2)
        elif m := _PROPERTIES.search(line):
            properties_of = m.group(1)
        elif m := _FRAME.search(line):
            if properties_of is None:
                raise PtxasLogError(f"{origin}:{lineno}: stack frame line without a function")
            frames[properties_of] = tuple(int(g) for g in m.groups())
            properties_of = None
        elif m := _USED.search(line):
            if current_entry is None:
                raise PtxasLogError(f"{origin}:{lineno}: 'Used ... registers' before any entry function")
            smem = _SMEM.search(line)
            barriers = _BARRIERS.search(line)
            used[current_entry] = (int(m.group(1)), int(smem.group(1)) if smem else 0,
                                   int(barriers.group(1)) if barriers else 0)
    out = {}
    for name, arch in entries.items():
        if name not in used:
            raise PtxasLogError(f"{origin}: no 'Used ... registers' line for kernel {name}")
        if name not in frames:
            raise PtxasLogError(f"{origin}: no stack frame/spill line for kernel {name}")
        registers, smem, barriers = used[name]
        stack, stores, loads = frames[name]
        out[name] = Resources(arch, registers, smem, stack, stores, loads, barriers)
    return out
