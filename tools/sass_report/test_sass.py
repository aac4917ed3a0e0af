"""The nvdisasm reader and the loop finder on small hand-written SASS."""
import unittest

import disasm
import loops

# In nvdisasm's layout (`nvdisasm -c`, CUDA 13): a kernel with a tile loop (outer) around an
# FFMA loop (inner), a 64-bit division and a spill in the outer loop, an out-of-line shuffle
# slow path that jumps back (no cycle), the end-of-code trap, and the division subroutine.
KERNEL = """
	.target	sm_90

//--------------------- .text._Z11gemm_kernelPf --------------------------
	.section	.text._Z11gemm_kernelPf,"ax",@progbits
	.align	128
        .global         _Z11gemm_kernelPf
        .type           _Z11gemm_kernelPf,@function
        .size           _Z11gemm_kernelPf,(.L_x_9 - _Z11gemm_kernelPf)
        .other          _Z11gemm_kernelPf,@"STO_CUDA_ENTRY STV_DEFAULT"
_Z11gemm_kernelPf:
.text._Z11gemm_kernelPf:
        /*0000*/                   LDC R1, c[0x0][0x28] ;
        /*0010*/               @P0 EXIT ;
.L_x_0:
        /*0020*/                   LDG.E R2, desc[UR4][R4.64] ;
        /*0030*/                   STS [R0], R2 ;
        /*0040*/                   MOV R6, 0x60 ;
        /*0050*/                   CALL.REL.NOINC `($__internal_0_$__cuda_sm20_div_s64) ;
        /*0060*/                   BAR.SYNC.DEFER_BLOCKING 0x0 ;
.L_x_1:
        /*0070*/                   LDS R8, [R3] ;
        /*0080*/                   FFMA R9, R8, R8, R9 ;
        /*0090*/                   FFMA R10, R8, R8, R10 ;
        /*00a0*/               @P1 BRA `(.L_x_1) ;
        /*00b0*/                   STL [R1], R9                                          (*"SpillRefill"*);
        /*00c0*/                   FADD R11, R9, R10 ;
        /*00d0*/              @!P2 BRA `(.L_x_0) ;
        /*00e0*/                   BRA.DIV UR4, `(.L_x_2) ;
.L_x_3:
        /*00f0*/                   STG.E desc[UR4][R4.64], R11 ;
        /*0100*/                   EXIT ;
.L_x_2:
        /*0110*/                   SHFL.DOWN PT, R11, R11, 0x1, 0x1f ;
        /*0120*/                   BRA `(.L_x_3) ;
.L_x_4:
        /*0130*/                   BRA `(.L_x_4);
        /*0140*/                   NOP;
        .weak           $__internal_0_$__cuda_sm20_div_s64
        .type           $__internal_0_$__cuda_sm20_div_s64,@function
        .size           $__internal_0_$__cuda_sm20_div_s64,(.L_x_9 - $__internal_0_$__cuda_sm20_div_s64)
$__internal_0_$__cuda_sm20_div_s64:
        /*0150*/                   IADD3 R2, R2, 0x1, RZ ;
        /*0160*/                   RET.REL.NODEC R6 `(_Z11gemm_kernelPf) ;
.L_x_9:
"""


def kernel_text(name: str, body: list[str]) -> str:
    """nvdisasm-like text for one kernel from instructions (addresses assigned 0x10 apart)
    and `label:` lines."""
    out = [f"\t.section\t.text.{name},\"ax\",@progbits",
           f"        .type           {name},@function",
           f"        .other          {name},@\"STO_CUDA_ENTRY STV_DEFAULT\"",
           f"{name}:"]
    address = 0
    for line in body:
        if line.endswith(":"):
            out.append(line)
        else:
            out.append(f"        /*{address:04x}*/                   {line} ;")
            address += 0x10
    return "\n".join(out) + "\n"


class Reader(unittest.TestCase):
    def setUp(self):
        self.functions = disasm.parse(KERNEL, "test")
        self.kernel = self.functions["_Z11gemm_kernelPf"]

    def test_functions(self):
        self.assertEqual(list(self.functions), ["_Z11gemm_kernelPf", "$__internal_0_$__cuda_sm20_div_s64"])
        self.assertTrue(self.kernel.is_entry)
        self.assertFalse(self.functions["$__internal_0_$__cuda_sm20_div_s64"].is_entry)
        self.assertEqual(len(self.kernel.instructions), 21)
        self.assertEqual(self.kernel.section, "_Z11gemm_kernelPf")

    def test_instruction_fields(self):
        by_address = {i.address: i for i in self.kernel.instructions}
        ldg = by_address[0x20]
        self.assertEqual((ldg.opcode, ldg.base, ldg.predicate), ("LDG.E", "LDG", ""))
        back = by_address[0xd0]
        self.assertEqual((back.predicate, back.base, back.target, back.target_address), ("@!P2", "BRA", ".L_x_0", 0x20))
        call = by_address[0x50]
        self.assertEqual((call.target, call.target_address), ("$__internal_0_$__cuda_sm20_div_s64", 0x150))
        spill = by_address[0xb0]
        self.assertEqual((spill.opcode, spill.operands, spill.annotation), ("STL", "[R1], R9", "SpillRefill"))
        self.assertEqual(by_address[0x140].base, "NOP")

    def test_instruction_outside_a_function_is_an_error(self):
        with self.assertRaisesRegex(disasm.DisasmError, "bad.sass:1"):
            disasm.parse("        /*0000*/   NOP ;\n", "bad.sass")


class Loops(unittest.TestCase):
    def test_nested_loops_and_mix(self):
        fn = disasm.parse(KERNEL)["_Z11gemm_kernelPf"]
        found = loops.find_loops(fn)
        # The shuffle's jump back (0x120 -> 0xf0) closes no cycle and the trap (0x130) is no loop.
        self.assertEqual([(lp.head, lp.back_edge, lp.depth) for lp in found], [(0x20, 0xd0, 0), (0x70, 0xa0, 1)])
        outer, inner = found
        self.assertTrue(outer.contains(inner))
        self.assertEqual((outer.mix["ffma"], outer.mix["fmul_fadd"], outer.mix["div64"], outer.mix["local"],
                          outer.mix["ldg"], outer.mix["sts"], outer.mix["lds"], outer.mix["bar"], outer.mix["total"]),
                         (2, 1, 1, 1, 1, 1, 1, 1, 12))
        self.assertEqual(outer.own["ffma"], 0)
        self.assertEqual(outer.own["total"], 12 - 4)
        # The FFMA loop is the main loop, though the tile loop holds it.
        self.assertIs(loops.main_loop(found), inner)
        self.assertEqual(inner.mix.math, 2)

    def test_main_loop_is_the_one_doing_arithmetic(self):
        # A tile-load loop (no math) nested in the k loop (FFMAs): the k loop is the main loop.
        fn = disasm.parse(kernel_text("k", [
            "LDC R1, c[0x0][0x28]", ".L_k:", "MOV R8, RZ", ".L_load:", "LDG.E R2, desc[UR4][R4.64]", "STS [R0], R2",
            "@P0 BRA `(.L_load)", "BAR.SYNC 0x0", "LDS R3, [R5]", "FFMA R6, R3, R3, R6", "FFMA R7, R3, R3, R7",
            "@P1 BRA `(.L_k)", "EXIT"]))["k"]
        found = loops.find_loops(fn)
        self.assertEqual(len(found), 2)
        self.assertEqual(loops.main_loop(found).head, 0x10)

    def test_two_back_edges_one_loop(self):
        # A `continue` gives a second back edge to the same head.
        fn = disasm.parse(kernel_text("k", [
            ".L_h:", "LDG.E R2, desc[UR4][R4.64]", "@P0 BRA `(.L_h)", "FADD R2, R2, R2", "@P1 BRA `(.L_h)", "EXIT"]))["k"]
        found = loops.find_loops(fn)
        self.assertEqual([(lp.head, lp.back_edge) for lp in found], [(0x0, 0x30)])

    def test_loop_left_through_a_call_to_its_own_label(self):
        # nvcc for sm_80 leaves loops with `@P0 CALL.REL.NOINC` to a label of the kernel; the
        # outer loop goes on after it, so the inner loop is nested in it, and it is no call.
        fn = disasm.parse(kernel_text("k", [
            ".L_outer:", "LDG.E R2, desc[UR4][R4.64]", ".L_inner:", "FFMA R3, R2, R2, R3",
            "@P0 CALL.REL.NOINC `(.L_out)", "BRA `(.L_inner)", ".L_out:", "STG.E desc[UR4][R4.64], R3",
            "@P1 BRA `(.L_outer)", "EXIT"]))["k"]
        outer, inner = loops.find_loops(fn)
        self.assertEqual((outer.head, inner.head, inner.depth), (0x0, 0x10, 1))
        self.assertTrue(outer.contains(inner))
        self.assertEqual(outer.mix["call"], 0)

    def test_conditional_forms(self):
        # BRA.DIV branches only when the warp diverged; @PT is no condition.
        fn = disasm.parse(kernel_text("k", ["BRA.DIV UR4, `(.L_x)", "@PT BRA `(.L_x)", "NOP", ".L_x:", "EXIT"]))["k"]
        succ = loops.successors(fn)
        self.assertEqual(sorted(succ[0]), [1, 3])
        self.assertEqual(succ[1], [3])
        self.assertEqual(succ[3], [])

    def test_division_names(self):
        for name in ("$__internal_3_$__cuda_sm20_div_s64", "$__internal_0_$__cuda_sm20_div_u64",
                     "$__internal_7_$__cuda_sm20_rem_s64", "__cuda_sm20_rem_u64"):
            self.assertRegex(name, loops.DIV64)
        for name in ("$__internal_0_$__cuda_sm20_div_rn_f64_full", "$__internal_2_$__cuda_sm3x_div_rn_noftz_f32",
                     "$__internal_1_$__cuda_sm70_shflsync_down_p"):
            self.assertNotRegex(name, loops.DIV64)

    def test_no_loops(self):
        fn = disasm.parse(kernel_text("k", ["LDG.E R2, desc[UR4][R4.64]", "STG.E desc[UR4][R6.64], R2", "EXIT"]))["k"]
        self.assertEqual(loops.find_loops(fn), [])
        self.assertIsNone(loops.main_loop([]))


if __name__ == "__main__":
    unittest.main()
