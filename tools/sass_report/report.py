#!/usr/bin/env python3
"""The static SASS report: per kernel and architecture, registers, spills, shared memory,
theoretical occupancy at the launch block size, and the instruction mix of each loop. Reads
what compile_cubin.py left in --build-dir; prints markdown; with --check, exits 1 when a
kernel breaks a bound of bounds.py that is not a known violation.
"""
from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys

import bounds
import disasm
import kernels
import loops as loops_mod
import ptxas_log
from find_tool import find_tool
from occupancy import ARCHS, occupancy


def collect(build_dir: str, sources: list[str], arch: str) -> list[bounds.KernelFacts]:
    facts = []
    for source in sources:
        stem = os.path.join(build_dir, os.path.splitext(os.path.basename(source))[0] + "." + arch)
        paths = {ext: stem + ext for ext in (".ptxas.txt", ".sass")}
        for path in paths.values():
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{path} missing: build it with `cmake --build <build> --target sass_cubins`")
        with open(paths[".ptxas.txt"]) as f:
            resources = ptxas_log.parse(f.read(), paths[".ptxas.txt"])
        with open(paths[".sass"]) as f:
            functions = disasm.parse(f.read(), paths[".sass"])
        entries = [fn for fn in functions.values() if fn.is_entry]
        names = {fn.name for fn in entries}
        if names != set(resources):
            raise ValueError(f"{source} {arch}: kernels in the SASS and in the ptxas log differ: "
                             f"{sorted(names ^ set(resources))}")
        demangled = kernels.demangle(sorted(names)) if names else {}
        for fn in entries:
            display = kernels.display_name(demangled[fn.name])
            base = kernels.base_name(display)
            r = resources[fn.name]
            if r.arch != arch:
                raise ValueError(f"{paths['.ptxas.txt']}: {display} compiled for {r.arch}, expected {arch}")
            occ = occupancy(ARCHS[arch], kernels.block_size(base, display), r.registers,
                            r.smem + kernels.dynamic_shared_bytes(base, display))
            found = loops_mod.find_loops(fn)
            facts.append(bounds.KernelFacts(os.path.basename(source), arch, display, base,
                                            kernels.kernel_class(base), r, occ, found,
                                            loops_mod.main_loop(found)))
    return sorted(facts, key=lambda k: (k.source, k.kernel))


def _ratio(n: int, d: int) -> str:
    return f"{n / d:.2f}" if d else "-"


def _cell(text: str) -> str:
    # In backticks, template brackets show as written instead of as HTML tags.
    return f"`{text}`"


def resource_table(facts: list[bounds.KernelFacts]) -> list[str]:
    out = ["| file | kernel | threads | regs | spill st/ld B | stack B | smem B | blocks/SM | warps/SM | occupancy | limited by |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for k in facts:
        r, o = k.resources, k.occupancy
        out.append(f"| {k.source} | {_cell(k.kernel)} | {kernels.block_size(k.base, k.kernel)} | {r.registers} | "
                   f"{r.spill_stores}/{r.spill_loads} | {r.stack_frame} | "
                   f"{r.smem + kernels.dynamic_shared_bytes(k.base, k.kernel)} | {o.blocks_per_sm} | "
                   f"{o.warps_per_sm} | {o.fraction:.1%} | {', '.join(o.limiters)} |")
    return out


def loop_table(facts: list[bounds.KernelFacts]) -> list[str]:
    out = ["| file | kernel | loops | main loop | instrs | HMMA | FFMA | FMUL+FADD | fp64 | LDG | STG | LDS | STS | "
           "BAR | LDL/STL | div64 call sites | instrs/math | LDS/math | LDG/math |",
           "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for k in facts:
        m = k.main
        if m is None:
            out.append(f"| {k.source} | {_cell(k.kernel)} | 0 | none |" + " |" * 15)
            continue
        x = m.mix
        out.append(f"| {k.source} | {_cell(k.kernel)} | {len(k.loops)} | {m.head:#06x}-{m.back_edge:#06x} | "
                   f"{x['total']} | {x['tensor']} | {x['ffma']} | {x['fmul_fadd']} | {x['fp64']} | {x['ldg']} | "
                   f"{x['stg']} | {x['lds']} | {x['sts']} | {x['bar']} | {x['local']} | {x['div64']} | "
                   f"{_ratio(x['total'], x.math)} | {_ratio(x['lds'], x.math)} | {_ratio(x['ldg'], x.math)} |")
    return out


def loop_list(facts: list[bounds.KernelFacts]) -> list[str]:
    out = []
    for k in facts:
        if not k.loops:
            continue
        parts = []
        for lp in k.loops:
            x = lp.mix
            notable = [f"{label} {x[key]}" for key, label in (
                ("tensor", "HMMA"), ("ffma", "FFMA"), ("fmul_fadd", "FMUL+FADD"), ("fp64", "fp64"),
                ("ldg", "LDG"), ("stg", "STG"), ("lds", "LDS"), ("sts", "STS"), ("bar", "BAR"),
                ("local", "LDL/STL"), ("div64", "div64"), ("call", "calls")) if x[key]]
            star = " (main)" if lp is k.main else ""
            parts.append(f"{lp.head:#06x}-{lp.back_edge:#06x}{star} depth {lp.depth}: {x['total']} instrs"
                         + (", " + ", ".join(notable) if notable else ""))
        out.append(f"- {k.source} `{k.kernel}`: " + "; ".join(parts))
    return out


def tool_versions(nvcc: str | None, sources: list[str], label: str | None) -> list[str]:
    lines = []
    if not label:
        try:
            where = os.path.dirname(os.path.abspath(sources[0]))
            rev = subprocess.run(["git", "-C", where, "describe", "--always", "--dirty"], capture_output=True,
                                 text=True).stdout.strip()
            label = f"git {rev}" if rev else None
        except OSError:
            pass
    if label:
        lines.append(f"source: {label}")
    for name, path in (("nvcc", nvcc), ("nvdisasm", None)):
        try:
            path = path or find_tool(name)
            text = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
            release = [ln for ln in text.splitlines() if "release" in ln]
            lines.append(f"{name}: {release[-1].strip() if release else text.strip().splitlines()[-1]}")
        except (OSError, IndexError) as e:
            lines.append(f"{name}: unknown ({e})")
    return lines


def render(by_arch: dict[str, list[bounds.KernelFacts]], findings: list[bounds.Finding],
           stale: list[bounds.Known], versions: list[str]) -> str:
    out = [f"# SASS report, {datetime.date.today().isoformat()}", "",
           "Static numbers from the compiler's output, no GPU involved: `cmake --build <build> --target sass_report` "
           "(tools/sass_report; its README says what they can and cannot tell). "
           "Flags: the library's Release flags (`-O3 -DNDEBUG --expt-relaxed-constexpr -std=c++20`).",
           "", *[f"- {v}" for v in versions], "",
           "Occupancy is theoretical: resident warps per SM over the maximum (64), at the block size "
           "the library launches with and the largest shared-memory carveout. The main loop is the loop "
           "with the most arithmetic in its own body; its counts include its nested loops, each "
           "instruction once. `math` is HMMA on a tensor-core loop, else FFMA+FMUL+FADD.", "",
           "## Checks", ""]
    fails = sum(1 for f in findings if not f.note and not f.known) + sum(1 for s in stale if s.strict)
    known = sum(1 for f in findings if f.known)
    notes = sum(1 for f in findings if f.note)
    out += [f"{fails} failures, {known} known violations (XFAIL, bounds.KNOWN), {notes} notes. "
            "The bounds are in tools/sass_report/bounds.py.", ""]
    # Failures first, then known violations, then notes.
    out += [f"- {f.line()}" for f in sorted(findings, key=lambda f: (f.note, bool(f.known)))]
    out += [f"- {bounds.unused_note(s)}" for s in stale]
    for arch, facts in by_arch.items():
        out += ["", f"## {arch}: resources and occupancy", "", *resource_table(facts),
                "", f"## {arch}: main loop", "", *loop_table(facts)]
    for arch, facts in by_arch.items():
        out += ["", f"## {arch}: every loop", "", *loop_list(facts)]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", required=True, help="where compile_cubin.py wrote its files")
    ap.add_argument("--sources", nargs="+", required=True, help="the kernels/cuda/*.cu files")
    ap.add_argument("--archs", nargs="+", default=["sm_90", "sm_80"])
    ap.add_argument("--nvcc", help="for the version line")
    ap.add_argument("--source-label", help="what the sources are (default: git describe of their checkout)")
    ap.add_argument("--markdown", help="also write the report here")
    ap.add_argument("--check", action="store_true", help="exit 1 when a bound is broken")
    a = ap.parse_args()

    by_arch, findings = {}, []
    for arch in a.archs:
        if arch not in ARCHS:
            ap.error(f"no limits for {arch} in occupancy.ARCHS")
        try:
            by_arch[arch] = collect(a.build_dir, a.sources, arch)
        except (OSError, ValueError, RuntimeError) as e:
            print(f"sass report: {e}", file=sys.stderr)
            return 2
        for k in by_arch[arch]:
            findings += bounds.check(k)
    analysed = {(k.source, k.arch) for facts in by_arch.values() for k in facts}
    findings, stale = bounds.apply_known(findings, bounds.KNOWN, analysed)
    text = render(by_arch, findings, stale, tool_versions(a.nvcc, a.sources, a.source_label))
    sys.stdout.write(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    failures = [f for f in findings if not f.known and not f.note]
    xfails = sum(1 for f in findings if f.known)
    kernels_seen = sum(len(v) for v in by_arch.values())
    print(f"sass check: {kernels_seen} kernel builds, {len(failures)} failures, {xfails} known violations, "
          f"{len(stale)} known entries that no longer occur", file=sys.stderr)
    strict_stale = [s for s in stale if s.strict]
    for s in stale:
        print(bounds.unused_note(s), file=sys.stderr)
    return 1 if a.check and (failures or strict_stale) else 0


if __name__ == "__main__":
    sys.exit(main())
