"""Loops of a kernel's SASS and the instruction mix inside them.

A loop is found from its back edge: a BRA whose target lies at or before the branch itself
and that closes a cycle (see find_loops). Back edges to one head are one loop. The counts
are static: an instruction in a nested loop counts once, however often it runs.

The main loop is the one doing the most arithmetic in its own body (nested loops excluded,
so an outer grid-stride loop does not win by containing the inner one): tensor-core and FFMA
instructions first, then FMUL/FADD and fp64 arithmetic, then size. Its mix is reported
with nested loops included, since they run on every one of its iterations.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from disasm import Function, Instruction

# Opcode families counted in a mix. HGMMA is Hopper's warpgroup MMA (wgmma).
FAMILIES: dict[str, tuple[str, ...]] = {
    "tensor": ("HMMA", "HGMMA"),
    "ffma": ("FFMA",),
    "fmul_fadd": ("FMUL", "FADD"),
    "fp64": ("DFMA", "DADD", "DMUL"),
    "ldg": ("LDG", "LDGSTS"),
    "stg": ("STG",),
    "lds": ("LDS", "LDSM"),
    "sts": ("STS",),
    "bar": ("BAR",),
    "local": ("LDL", "STL"),
}
_FAMILY_OF = {op: family for family, ops in FAMILIES.items() for op in ops}

# nvcc implements 64-bit integer division and remainder as subroutines named, in nvcc 11 to
# 13, $__internal_N_$__cuda_sm20_div_s64 (and div_u64, rem_s64, rem_u64).
DIV64 = re.compile(r"__cuda_sm\d+_(div|rem)_[su]64\b")


@dataclass
class Mix:
    counts: Counter  # by family, plus "div64", "call" (other calls) and "total"

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)

    @property
    def math(self) -> int:
        """What the loads are paid for: tensor-core instructions on a tensor-core loop, else fp32
        FFMA/FMUL/FADD."""
        return self["tensor"] if self["tensor"] else self["ffma"] + self["fmul_fadd"]


def mix_of(instructions: list[Instruction]) -> Mix:
    counts: Counter = Counter()
    for ins in instructions:
        if ins.base == "NOP":
            continue
        counts["total"] += 1
        family = _FAMILY_OF.get(ins.base)
        if family:
            counts[family] += 1
        # cp.async (LDGSTS) also on its own: the asynchronous pipelines must issue it in the loop.
        if ins.base == "LDGSTS":
            counts["ldgsts"] += 1
        # A CALL to one of the kernel's own labels (.L_x_N) is a branch (see successors).
        if ins.base == "CALL" and not (ins.target or "").startswith(".L"):
            counts["div64" if ins.target and DIV64.search(ins.target) else "call"] += 1
    return Mix(counts)


@dataclass
class Loop:
    head: int  # address of the loop head (the back edges' target)
    back_edge: int  # address of the last branch back to the head
    body: frozenset[int]  # instruction indices in the function
    depth: int  # 0 for an outermost loop
    mix: Mix  # whole body, nested loops included
    own: Mix  # nested loops excluded

    def contains(self, other: "Loop") -> bool:
        return self is not other and other.body < self.body


_PREDICATE_OPERAND = re.compile(r"^!?U?P[0-7T]\s*,")


def _conditional(ins: Instruction) -> bool:
    modifiers = ins.opcode.split(".")[1:]
    return (ins.predicate not in ("", "@PT") or "DIV" in modifiers or "CONV" in modifiers
            or bool(_PREDICATE_OPERAND.match(ins.operands)))


def successors(fn: Function) -> list[list[int]]:
    """Control flow between the function's instructions, by index. Calls to other functions
    return; an indirect branch may go to any label (conservative: it can only add loops)."""
    index = {ins.address: i for i, ins in enumerate(fn.instructions)}
    labelled = sorted({index[ins.target_address] for ins in fn.instructions
                       if ins.target_address in index})
    out = []
    for i, ins in enumerate(fn.instructions):
        succ, falls = [], True
        local_call = ins.base == "CALL" and ins.target_address in index
        if ins.base in ("BRA", "JMP") or local_call or (ins.base == "WARPSYNC" and ins.target):
            # nvcc for sm_80 leaves some loops with `@P0 CALL.REL.NOINC` to a label of the
            # kernel itself, never returned from: a branch.
            if ins.target_address in index:
                succ.append(index[ins.target_address])
            falls = ins.base == "WARPSYNC" or _conditional(ins)
        elif ins.base in ("BRX", "JMX"):
            succ.extend(labelled)
            falls = _conditional(ins)
        elif ins.base in ("EXIT", "RET", "KILL"):
            falls = _conditional(ins)
        if falls and i + 1 < len(fn.instructions):
            succ.append(i + 1)
        out.append(succ)
    return out


def _reach(start: int, edges: list[list[int]], allowed=None, stop=None) -> set[int]:
    seen, todo = {start}, [start]
    while todo:
        n = todo.pop()
        if n == stop:
            continue
        for m in edges[n]:
            if m not in seen and (allowed is None or m in allowed):
                seen.add(m)
                todo.append(m)
    return seen


def find_loops(fn: Function) -> list[Loop]:
    """The function's loops, ordered by head address. A candidate back edge is a BRA to an
    address at or before itself; it closes a loop only if the head can reach it again (nvcc
    also jumps backward from out-of-line slow paths, e.g. a warp shuffle's, into straight-line
    code: no cycle, no loop). The body is every instruction on a path from the head to a back
    edge: for nvcc's contiguous loops the range [head, back edge], plus out-of-line blocks
    that return into the loop."""
    ins = fn.instructions
    succ = successors(fn)
    pred: list[list[int]] = [[] for _ in ins]
    for i, targets in enumerate(succ):
        for t in targets:
            pred[t].append(i)
    index = {x.address: i for i, x in enumerate(ins)}

    bodies: dict[int, set[int]] = {}
    last_edge: dict[int, int] = {}
    for i, x in enumerate(ins):
        if x.base != "BRA" or x.target_address not in index or x.target_address > x.address:
            continue
        head = index[x.target_address]
        if head not in succ[i]:
            continue
        # `BRA self` after the final EXIT is the compiler's trap for running off the end.
        if head == i and not _conditional(x):
            continue
        forward = _reach(head, succ)
        if i not in forward:
            continue
        body = _reach(i, pred, allowed=forward, stop=head)
        bodies.setdefault(head, set()).update(body | {head})
        last_edge[head] = max(last_edge.get(head, i), i)

    loops = []
    for head in sorted(bodies):
        body = frozenset(bodies[head])
        mix = mix_of([ins[j] for j in sorted(body)])
        loops.append(Loop(ins[head].address, ins[last_edge[head]].address, body, 0, mix, mix))
    for loop in loops:
        loop.depth = sum(1 for other in loops if other.contains(loop))
        inner = set().union(*(o.body for o in loops if loop.contains(o)))
        if inner:
            loop.own = mix_of([ins[j] for j in sorted(loop.body - inner)])
    return loops


def main_loop(loops: list[Loop]) -> Loop | None:
    if not loops:
        return None

    def heat(loop: Loop):
        own = loop.own
        return (own["tensor"] + own["ffma"], own["fmul_fadd"] + own["fp64"], own["total"], -len(loop.body))

    return max(loops, key=heat)
