"""The bounds a kernel's static numbers must hold, and the known violations that are waiting
for a kernel fix.

GEMM/conv kernels (issue 11's targets, for every conv/GEMM main loop):
  - no local memory (spill or local array) traffic in the main loop;
  - no call to a 64-bit integer division or remainder in the main loop;
  - on a tensor-core path (a `tc`/`mma` word in the name): at least one HMMA in the main loop;
  - on a cp.async pipeline (an `async` word in the name, as mma_gemm_async_kernel): at least
    one LDGSTS in the main loop (else the operands went through registers after all);
  - on sm_90, at least 2 blocks or 8 warps resident per SM;
  - a main loop at all: a GEMM without a loop means the analysis missed it.
Elementwise and reduction kernels are memory-bound: what matters is keeping enough loads in
flight, so
  - no spills anywhere in the kernel (ptxas's spill bytes);
  - theoretical occupancy of at least 50% on every architecture reported (at 256 threads and
    little shared memory that is 64 registers or fewer).
SIMT convolution kernels (a `narrow_conv` name: kernels/cuda/conv_nhwc_narrow.cu, FP32 FMA
from shared memory) hold the GEMM/conv bounds and, as elementwise kernels do, no spills
anywhere in the kernel (their loops are short: a spill outside the main loop is in the way).
Notes, which fail nothing: spills in a GEMM/conv kernel outside its main loop, and 64-bit
division in the main loop of an elementwise or reduction kernel (an index split per element:
memory-bound kernels hide some of it, not all).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from kernels import GEMM, is_async_copy, is_tensor_core
from loops import Loop
from occupancy import Occupancy
from ptxas_log import Resources

MIN_OCCUPANCY_OTHER = 0.5
SIMT_CONV_PREFIXES = ("narrow_conv",)
MIN_BLOCKS_GEMM, MIN_WARPS_GEMM, GEMM_OCCUPANCY_ARCH = 2, 8, "sm_90"


@dataclass
class KernelFacts:
    source: str  # file name, e.g. conv2d.cu
    arch: str
    kernel: str  # display name
    base: str
    klass: str
    resources: Resources
    occupancy: Occupancy
    loops: list[Loop]
    main: Loop | None


@dataclass
class Finding:
    source: str
    arch: str
    kernel: str
    rule: str
    detail: str
    known: str = ""  # why it is an expected failure, when it is one
    note: bool = False  # worth reading, breaks no bound

    def line(self) -> str:
        state = "NOTE" if self.note else "XFAIL" if self.known else "FAIL"
        why = f" (known: {self.known})" if self.known else ""
        return f"{state} {self.arch} {self.source} `{self.kernel}`: {self.rule}: {self.detail}{why}"


def check(k: KernelFacts) -> list[Finding]:
    found = []

    def fail(rule, detail):
        found.append(Finding(k.source, k.arch, k.kernel, rule, detail))

    def note(rule, detail):
        found.append(Finding(k.source, k.arch, k.kernel, rule, detail, note=True))

    r, occ, main = k.resources, k.occupancy, k.main
    if occ.blocks_per_sm == 0:
        fail("launch", f"no block fits on an SM: {occ.why_none}")
    if k.klass == GEMM:
        if main is None:
            fail("main-loop", "no loop found in a GEMM/conv kernel")
        else:
            at = f"main loop at {main.head:#06x}"
            if main.mix["local"]:
                fail("spill", f"{main.mix['local']} local-memory instructions (LDL/STL) in the {at}")
            elif (r.spill_stores or r.spill_loads) and k.base.startswith(SIMT_CONV_PREFIXES):
                fail("spill", f"{r.spill_stores} bytes spill stores, {r.spill_loads} bytes spill loads "
                              f"(a SIMT conv kernel: none anywhere)")
            elif r.spill_stores or r.spill_loads:
                note("spill", f"{r.spill_stores} bytes spill stores, {r.spill_loads} bytes spill loads, "
                              f"none in the {at}")
            if main.mix["div64"]:
                fail("div64", f"{main.mix['div64']} call sites of 64-bit integer division/remainder in the {at}")
            if is_tensor_core(k.base) and not main.mix["tensor"]:
                fail("tensor-core", f"no HMMA/HGMMA in the {at}")
            if is_async_copy(k.base) and not main.mix["ldgsts"]:
                fail("cp.async", f"no LDGSTS in the {at}")
        if k.arch == GEMM_OCCUPANCY_ARCH and occ.blocks_per_sm < MIN_BLOCKS_GEMM and occ.warps_per_sm < MIN_WARPS_GEMM:
            fail("occupancy", f"{occ.blocks_per_sm} blocks / {occ.warps_per_sm} warps per SM, want >= "
                              f"{MIN_BLOCKS_GEMM} blocks or >= {MIN_WARPS_GEMM} warps")
    else:
        if r.spill_stores or r.spill_loads:
            fail("spill", f"{r.spill_stores} bytes spill stores, {r.spill_loads} bytes spill loads")
        if main is not None and main.mix["div64"]:
            note("div64", f"{main.mix['div64']} call sites of 64-bit integer division/remainder in the "
                          f"main loop at {main.head:#06x}")
        if occ.fraction < MIN_OCCUPANCY_OTHER:
            fail("occupancy", f"{occ.fraction:.1%} at {r.registers} registers, {r.smem} B shared "
                              f"(limited by {', '.join(occ.limiters)}), want >= {MIN_OCCUPANCY_OTHER:.0%}")
    return found


@dataclass(frozen=True)
class Known:
    """A violation that is a kernel defect for the kernel's owner to fix. The check reports it
    as XFAIL; once the kernel no longer violates, the check fails until the entry is removed
    (strict), or, for violations that come and go with the register allocator's choices on
    unrelated edits, notes it (not strict)."""
    source: str
    kernel: str  # regular expression on the display name
    arch: str
    rule: str
    why: str
    strict: bool = True


# Known violations, each with why and where to fix it. (The conv gathers index in 32 bits,
# kernels/cuda/conv_problems.h, and the linear GEMM no longer spills since its tile loop was
# reworked.)
KNOWN: list[Known] = [
    # The problem batches (implicit_gemm_mma.cuh, ProblemBatch): the fused single-problem
    # kernels (capacity 1) moved by a register or two with the batch's parameter layout.
    Known("conv2d_nhwc.cu",
          r"mma::mma_gemm_kernel<\(mma::TileConfig\)2, \(mma::Mode\)1, "
          r"conv::nhwc::WithMoments<conv::nhwc::BackwardInputPhaseNhwcNormAct>, 1>",
          "sm_90", "spill",
          "the opt-in conv + batchnorm fusion's grad-input in BF16 on the register-staged Narrow tile (K_out not a "
          "multiple of 4), prologue + statistics epilogue: 2 local-memory accesses in the main loop since the "
          "problems carry operands_tf32 (8 bytes more parameters; the fp32-accurate WithMoments<ForwardNhwcNormAct> "
          "Square spill went the other way); fix: batch the fused phases too, or pad K_out",
          strict=False),
    Known("conv2d_nhwc.cu",
          r"mma::mma_gemm_kernel<\(mma::TileConfig\)2, \(mma::Mode\)1, "
          r"conv::nhwc::BackwardInputPhaseNhwcNormAct, 1>",
          "sm_90", "spill",
          "the opt-in fused grad-input (prologue) in BF16 on the register-staged Narrow tile (K_out not a multiple "
          "of 4): 2 local-memory accesses in the main loop since the kernels take a ProblemBatch; fix: batch the "
          "fused phases too, or pad K_out",
          strict=False),
    Known("conv2d_nhwc.cu",
          r"mma::mma_gemm_kernel<\(mma::TileConfig\)1, \(mma::Mode\)2, "
          r"conv::nhwc::WithMoments<conv::nhwc::ForwardNhwcNormAct>, 1>",
          "sm_90", "spill",
          "the opt-in conv + batchnorm fusion's forward in fp32-accurate on the register-staged Square tile "
          "(C not a multiple of 4): 1 local-memory access in the main loop since ForwardNhwc carries the paired "
          "loop's TapWalk (36 bytes more parameters; parameter-layout noise: this kernel spilled before the "
          "operands_tf32 flags too); fix: keep the register-staged loop's problem free of cp.async-only fields",
          strict=False),
]


def apply_known(findings: list[Finding], known: list[Known] = KNOWN,
                analysed: set[tuple[str, str]] | None = None) -> tuple[list[Finding], list[Known]]:
    """Marks findings covered by `known`; returns them and the entries that matched nothing
    among those whose (source, arch) was `analysed` (all when None)."""
    used = set()
    for f in findings:
        if f.note:
            continue
        for i, entry in enumerate(known):
            if (entry.source == f.source and entry.arch == f.arch and entry.rule == f.rule
                    and re.fullmatch(entry.kernel, f.kernel)):
                f.known = entry.why
                used.add(i)
                break
    return findings, [entry for i, entry in enumerate(known) if i not in used
                      and (analysed is None or (entry.source, entry.arch) in analysed)]


def unused_note(entry: Known) -> str:
    state = "FAIL" if entry.strict else "NOTE"
    return (f"{state} {entry.arch} {entry.source} `{entry.kernel}`: {entry.rule}: known violation no longer "
            f"occurs; remove its entry from tools/sass_report/bounds.py KNOWN")
