"""Reads the text nvdisasm prints for a cubin (`nvdisasm -c file.cubin`) into functions and
instructions, with branch and call targets resolved to addresses.

What the text looks like (nvdisasm 12.x/13.x):

        .section  .text.KERNEL,"ax",@progbits
        .type     KERNEL,@function
        .other    KERNEL,@"STO_CUDA_ENTRY STV_DEFAULT"
    KERNEL:
            /*0170*/   @P0 BRA `(.L_x_0) ;
    .L_x_0:
            /*0180*/   CALL.REL.NOINC `($__internal_0_$__cuda_sm20_div_u64) ;
            /*0420*/   STL [R1], R16     (*"SpillRefill"*);

Addresses are offsets in the function's section; subroutines the compiler emits for a
kernel ($__internal_...) live in the kernel's section after its code, so labels and
addresses of one section are one space.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_SECTION = re.compile(r"^\s*\.section\s+\.text\.([^,\s]+)")
_TYPE_FUNCTION = re.compile(r"^\s*\.type\s+([^,\s]+)\s*,\s*@function")
_ENTRY = re.compile(r"^\s*\.other\s+([^,\s]+)\s*,.*STO_CUDA_ENTRY")
_LABEL = re.compile(r"^([^\s/][^\s]*):\s*$")
_INSTRUCTION = re.compile(r"^\s*/\*([0-9a-fA-F]+)\*/\s+(.*?)\s*$")
_ANNOTATION = re.compile(r"\(\*.*?\*\)")
_PREDICATE = re.compile(r"^(@!?U?P(?:[0-7]|T))\s+")
_TARGET = re.compile(r"`\(([^)]+)\)")


@dataclass
class Instruction:
    address: int
    predicate: str  # "" or e.g. "@!P0"
    opcode: str  # with modifiers, e.g. "LDG.E.128"
    operands: str
    target: str | None = None  # label or function a branch or call names
    target_address: int | None = None
    annotation: str = ""  # nvdisasm's dataflow notes, e.g. "SpillRefill"

    @property
    def base(self) -> str:
        """The opcode without modifiers: LDG for LDG.E.128."""
        return self.opcode.split(".", 1)[0]


@dataclass
class Function:
    name: str
    section: str
    is_entry: bool = False
    instructions: list[Instruction] = field(default_factory=list)


class DisasmError(ValueError):
    pass


def parse(text: str, origin: str = "<nvdisasm output>") -> dict[str, Function]:
    """Functions by (mangled) name, in the order they appear. `origin` names the file in errors."""
    functions: dict[str, Function] = {}
    declared: set[str] = set()
    entries: set[str] = set()
    section = None
    current: Function | None = None
    labels: dict[str, int] = {}  # of the current section
    pending: list[str] = []  # labels waiting for the next instruction's address
    section_functions: list[Function] = []

    def close_section():
        # A label after the last instruction (the section's end) points one past it.
        end = None
        for fn in reversed(section_functions):
            if fn.instructions:
                end = fn.instructions[-1].address + 16
                break
        for name in pending:
            labels[name] = end if end is not None else 0
        pending.clear()
        for fn in section_functions:
            for ins in fn.instructions:
                if ins.target is not None:
                    ins.target_address = labels.get(ins.target)
        section_functions.clear()
        labels.clear()

    for lineno, line in enumerate(text.splitlines(), 1):
        if m := _SECTION.match(line):
            close_section()
            section, current = m.group(1), None
            continue
        if m := _TYPE_FUNCTION.match(line):
            declared.add(m.group(1))
            continue
        if m := _ENTRY.match(line):
            entries.add(m.group(1))
            continue
        if m := _INSTRUCTION.match(line):
            if current is None:
                raise DisasmError(f"{origin}:{lineno}: instruction outside any function: {line.strip()}")
            ins = _instruction(int(m.group(1), 16), m.group(2))
            for name in pending:
                labels[name] = ins.address
            pending.clear()
            current.instructions.append(ins)
            continue
        if m := _LABEL.match(line.strip()):
            name = m.group(1)
            if name in declared and section is not None and not name.startswith(".text."):
                if name in functions:
                    raise DisasmError(f"{origin}:{lineno}: function {name} defined twice")
                current = Function(name, section, name in entries)
                functions[name] = current
                section_functions.append(current)
            pending.append(name)
    close_section()
    return functions


def _instruction(address: int, text: str) -> Instruction:
    annotation = " ".join(a[2:-2].strip().strip('"') for a in _ANNOTATION.findall(text))
    text = _ANNOTATION.sub("", text).strip().rstrip(";").strip()
    predicate = ""
    if m := _PREDICATE.match(text):
        predicate, text = m.group(1), text[m.end():]
    opcode, _, operands = text.partition(" ")
    target = _TARGET.search(operands)
    return Instruction(address, predicate, opcode.strip(), operands.strip(),
                       target.group(1) if target else None, None, annotation)
