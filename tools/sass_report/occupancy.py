"""Theoretical occupancy of a kernel: how many blocks of a given size one SM can hold at once,
given the kernel's registers and shared memory and the SM's per-architecture limits.

The limits below are the ones the hardware enforces; the calculation follows the CUDA
Occupancy Calculator (the spreadsheet shipped with the toolkit until CUDA 12 and its header
cuda_occupancy.h, which cudaOccupancyMaxActiveBlocksPerMultiprocessor implements). It is a
ceiling: it says nothing about whether the warps that fit have enough independent work.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArchLimits:
    name: str
    max_warps_per_sm: int
    max_blocks_per_sm: int
    max_threads_per_block: int
    regs_per_sm: int
    regs_per_block: int
    max_regs_per_thread: int
    # Registers go to a warp in units of this many (the calculator's "register allocation
    # unit size"), and each of the SM's sub-partitions has its own quarter of the register file:
    # a warp's registers cannot straddle two of them.
    reg_alloc_unit: int
    sub_partitions: int
    # Shared memory per SM at the largest carveout, the most one block may use (opt-in above
    # 48 KiB), the allocation unit, and what the driver reserves for itself in every block
    # (cudaDeviceProp::reservedSharedMemPerBlock).
    smem_per_sm: int
    smem_per_block_optin: int
    smem_alloc_unit: int
    smem_reserved_per_block: int


KIB = 1024

# Sources. Per-SM and per-block counts: CUDA C++ Programming Guide, "Compute Capabilities",
# table "Technical Specifications per Compute Capability" (max resident blocks/warps per SM,
# 32-bit registers per SM and per block, registers per thread, shared memory per SM and per
# block). Allocation units, sub-partitions and the reserved 1 KiB: the CUDA Occupancy Calculator
# (cuda_occupancy.h: register allocation granularity 256 per warp, 4 sub-partitions, shared
# memory granularity 128 bytes on 8.x/9.x and 256 on 7.x) and cudaDeviceProp's
# reservedSharedMemPerBlock (1 KiB from 8.0 on, 0 before).
# Shared memory per SM is the largest carveout: since 7.0, with no carveout preference set
# (the library sets none), the driver picks the configuration per kernel so that shared
# memory does not limit occupancy (Programming Guide, "Shared Memory" for 7.x/8.x/9.0).
ARCHS: dict[str, ArchLimits] = {
    # Volta: kept for the CUDA C++ Best Practices Guide's published occupancy example, which
    # the tests reproduce; the report does not target it.
    "sm_70": ArchLimits("sm_70", 64, 32, 1024, 64 * KIB, 64 * KIB, 255, 256, 4,
                        96 * KIB, 96 * KIB, 256, 0),
    # A100
    "sm_80": ArchLimits("sm_80", 64, 32, 1024, 64 * KIB, 64 * KIB, 255, 256, 4,
                        164 * KIB, 163 * KIB, 128, 1 * KIB),
    # H100 / H200
    "sm_90": ArchLimits("sm_90", 64, 32, 1024, 64 * KIB, 64 * KIB, 255, 256, 4,
                        228 * KIB, 227 * KIB, 128, 1 * KIB),
}

WARP = 32


def _round_up(x: int, unit: int) -> int:
    return (x + unit - 1) // unit * unit


@dataclass(frozen=True)
class Occupancy:
    blocks_per_sm: int
    warps_per_sm: int
    fraction: float  # active warps / max warps per SM
    limiters: tuple[str, ...]  # which of warps, blocks, registers, shared memory bind
    by_warps: int
    by_blocks: int
    by_registers: int
    by_shared: int
    why_none: str = ""  # set when not even one block fits (the launch would fail)


def occupancy(limits: ArchLimits, threads_per_block: int, registers: int, static_smem: int,
              dynamic_smem: int = 0) -> Occupancy:
    """Blocks and warps per SM for a kernel using `registers` per thread and `static_smem` +
    `dynamic_smem` bytes of shared memory per block (the reserved 1 KiB is added here)."""
    if threads_per_block <= 0 or registers < 0 or static_smem < 0 or dynamic_smem < 0:
        raise ValueError(f"occupancy: bad input threads={threads_per_block} registers={registers} "
                         f"smem={static_smem}+{dynamic_smem}")
    unlimited = 1 << 30
    warps = (threads_per_block + WARP - 1) // WARP
    why_none = ""

    by_warps = limits.max_warps_per_sm // warps
    if threads_per_block > limits.max_threads_per_block:
        by_warps, why_none = 0, f"{threads_per_block} threads > {limits.max_threads_per_block} per block"

    by_blocks = limits.max_blocks_per_sm

    if registers == 0:
        by_registers = unlimited
    else:
        regs_per_warp = _round_up(registers * WARP, limits.reg_alloc_unit)
        # The launch check assumes a block's warps spread evenly over the sub-partitions.
        regs_checked = regs_per_warp * _round_up(warps, limits.sub_partitions)
        if registers > limits.max_regs_per_thread:
            by_registers, why_none = 0, f"{registers} registers > {limits.max_regs_per_thread} per thread"
        elif max(regs_checked, regs_per_warp * warps) > limits.regs_per_block:
            by_registers, why_none = 0, f"{regs_checked} registers > {limits.regs_per_block} per block"
        else:
            warps_per_sub = (limits.regs_per_sm // limits.sub_partitions) // regs_per_warp
            by_registers = warps_per_sub * limits.sub_partitions // warps

    smem = _round_up(static_smem + dynamic_smem + limits.smem_reserved_per_block, limits.smem_alloc_unit)
    if smem > limits.smem_per_block_optin + limits.smem_reserved_per_block:
        by_shared, why_none = 0, f"{smem} bytes of shared memory > {limits.smem_per_block_optin} per block"
    elif smem == 0:
        by_shared = unlimited
    else:
        by_shared = limits.smem_per_sm // smem

    blocks = min(by_warps, by_blocks, by_registers, by_shared)
    named = {"warps": by_warps, "blocks": by_blocks, "registers": by_registers, "shared memory": by_shared}
    limiters = tuple(name for name, value in named.items() if value == blocks)
    return Occupancy(blocks, blocks * warps, blocks * warps / limits.max_warps_per_sm, limiters,
                     by_warps, by_blocks, by_registers, by_shared, why_none)
