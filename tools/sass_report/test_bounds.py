"""The bounds fail where they should, and known violations behave as strict expected failures."""
import unittest
from collections import Counter

import bounds
from kernels import GEMM, OTHER
from loops import Loop, Mix
from occupancy import ARCHS, occupancy
from ptxas_log import Resources


def facts(base="gemm_kernel", arch="sm_90", regs=64, threads=256, smem=8256, spills=(0, 0), main=None, loops=None):
    klass = GEMM if ("gemm" in base or "conv" in base) else OTHER
    mix = Mix(Counter(main or {}))
    loop = Loop(0x100, 0x900, frozenset(range(10)), 0, mix, mix) if main is not None else None
    return bounds.KernelFacts("conv2d.cu", arch, base, base, klass,
                              Resources(arch, regs, smem, sum(spills), spills[0], spills[1], 1),
                              occupancy(ARCHS[arch], threads, regs, smem),
                              loops if loops is not None else ([loop] if loop else []), loop)


CLEAN_GEMM_LOOP = {"fmul_fadd": 512, "lds": 128, "ldg": 10, "bar": 2, "total": 1000}


def rules(k):
    return sorted(f.rule for f in bounds.check(k) if not f.note)


class Gemm(unittest.TestCase):
    def test_clean(self):
        self.assertEqual(rules(facts(main=CLEAN_GEMM_LOOP)), [])

    def test_division_in_main_loop(self):
        self.assertEqual(rules(facts(main={**CLEAN_GEMM_LOOP, "div64": 3})), ["div64"])

    def test_local_memory_in_main_loop(self):
        self.assertEqual(rules(facts(main={**CLEAN_GEMM_LOOP, "local": 2}, spills=(8, 8))), ["spill"])

    def test_spill_outside_main_loop_is_a_note(self):
        found = bounds.check(facts(main=CLEAN_GEMM_LOOP, spills=(8, 48)))
        self.assertEqual([(f.rule, f.note) for f in found], [("spill", True)])

    def test_simt_conv_kernel_may_not_spill_anywhere(self):
        found = bounds.check(facts(base="narrow_conv_backward_input_kernel", main=CLEAN_GEMM_LOOP, spills=(16, 24)))
        self.assertEqual([(f.rule, f.note) for f in found], [("spill", False)])
        self.assertEqual(rules(facts(base="narrow_conv_backward_input_kernel", main=CLEAN_GEMM_LOOP)), [])
        self.assertEqual(rules(facts(base="narrow_conv_backward_input_kernel", main={**CLEAN_GEMM_LOOP, "div64": 1})), ["div64"])

    def test_tensor_core_path_needs_hmma(self):
        self.assertEqual(rules(facts(base="gemm_tc_kernel", main=CLEAN_GEMM_LOOP)), ["tensor-core"])
        self.assertEqual(rules(facts(base="gemm_tc_kernel", main={**CLEAN_GEMM_LOOP, "tensor": 64})), [])

    def test_async_pipeline_needs_ldgsts(self):
        hmma = {**CLEAN_GEMM_LOOP, "tensor": 64}
        self.assertEqual(rules(facts(base="mma_gemm_async_kernel", main=hmma)), ["cp.async"])
        self.assertEqual(rules(facts(base="mma_gemm_async_kernel", main={**hmma, "ldg": 8, "ldgsts": 8})), [])
        self.assertEqual(rules(facts(base="mma_gemm_kernel", main=hmma)), [])  # register-staged: no LDGSTS wanted

    def test_occupancy_on_sm90_only(self):
        # 128 threads at 255 registers: 8192 per warp, 8 warps per SM, 2 blocks: passes.
        self.assertEqual(rules(facts(threads=128, regs=255, main=CLEAN_GEMM_LOOP)), [])
        # 64 threads at 255 registers: 4 blocks of 2 warps... still 8 warps: passes.
        self.assertEqual(rules(facts(threads=64, regs=255, main=CLEAN_GEMM_LOOP)), [])
        # 224 threads (7 warps) at 255: registers hold 8 warps, so 1 block of 7 warps: fails.
        self.assertEqual(rules(facts(threads=224, regs=255, main=CLEAN_GEMM_LOOP)), ["occupancy"])
        self.assertEqual(rules(facts(arch="sm_80", threads=224, regs=255, main=CLEAN_GEMM_LOOP)), [])

    def test_no_loop(self):
        self.assertEqual(rules(facts(main=None)), ["main-loop"])

    def test_launch_that_cannot_run(self):
        self.assertIn("launch", rules(facts(threads=1024, regs=128, main=CLEAN_GEMM_LOOP)))


class Other(unittest.TestCase):
    def test_clean(self):
        self.assertEqual(rules(facts(base="affine_kernel", regs=64, smem=0, main={"ldg": 4})), [])

    def test_spills(self):
        self.assertEqual(rules(facts(base="affine_kernel", regs=40, smem=0, spills=(4, 4))), ["spill"])

    def test_occupancy_below_half(self):
        # 72 registers at 256 threads: 2304 per warp, 7 per sub-partition, 28 warps, 3 blocks: 37.5%.
        self.assertEqual(rules(facts(base="affine_kernel", regs=72, smem=0)), ["occupancy"])

    def test_division_is_a_note(self):
        found = bounds.check(facts(base="concat_kernel", regs=30, smem=0, main={"div64": 4, "ldg": 4}))
        self.assertEqual([(f.rule, f.note) for f in found], [("div64", True)])


class KnownViolations(unittest.TestCase):
    KNOWN = [bounds.Known("conv2d.cu", r"gemm_kernel", "sm_90", "div64", "conv gathers divide per element")]

    def test_known_is_xfail(self):
        found = bounds.check(facts(main={**CLEAN_GEMM_LOOP, "div64": 3}))
        found, stale = bounds.apply_known(found, self.KNOWN)
        self.assertEqual(stale, [])
        self.assertEqual(found[0].known, "conv gathers divide per element")
        self.assertTrue(found[0].line().startswith("XFAIL"))

    def test_other_arch_or_rule_still_fails(self):
        found = bounds.check(facts(arch="sm_80", main={**CLEAN_GEMM_LOOP, "div64": 3, "local": 1}))
        found, stale = bounds.apply_known(found, self.KNOWN)
        self.assertEqual([f.known for f in found], ["", ""])
        self.assertEqual(len(stale), 1)

    def test_fixed_kernel_makes_the_entry_stale(self):
        found, stale = bounds.apply_known(bounds.check(facts(main=CLEAN_GEMM_LOOP)), self.KNOWN)
        self.assertEqual(stale, self.KNOWN)

    def test_unused_entry_fails_only_when_strict(self):
        loose = bounds.Known("conv2d.cu", r"gemm_kernel", "sm_90", "spill", "allocator", strict=False)
        found, stale = bounds.apply_known(bounds.check(facts(main=CLEAN_GEMM_LOOP)), [loose])
        self.assertEqual(stale, [loose])
        self.assertTrue(bounds.unused_note(loose).startswith("NOTE"))
        self.assertTrue(bounds.unused_note(self.KNOWN[0]).startswith("FAIL"))

    def test_entries_for_files_not_analysed_are_not_stale(self):
        found, stale = bounds.apply_known([], self.KNOWN, analysed={("conv2d.cu", "sm_80")})
        self.assertEqual(stale, [])
        found, stale = bounds.apply_known([], self.KNOWN, analysed={("conv2d.cu", "sm_90")})
        self.assertEqual(stale, self.KNOWN)


if __name__ == "__main__":
    unittest.main()
