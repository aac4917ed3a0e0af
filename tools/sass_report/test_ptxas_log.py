"""The reader of `nvcc -Xptxas -v` output."""
import unittest

import ptxas_log

# As nvcc 13 prints it, with a subroutine's properties between a kernel's lines.
LOG = """\
kernels/cuda/reduce.cuh(22): warning #20050-D: inline qualifier ignored for "__global__" function
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z6simplePf' for 'sm_90'
ptxas info    : Function properties for _Z6simplePf
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 26 registers, used 0 barriers, 392 bytes cmem[0]
ptxas info    : Compile time = 36.822 ms
ptxas info    : Compiling entry function '_Z5spillPf' for 'sm_90'
ptxas info    : Function properties for $__internal_0_$__cuda_sm20_div_s64
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Function properties for _Z5spillPf
    8 bytes stack frame, 4 bytes spill stores, 12 bytes spill loads
ptxas info    : Used 64 registers, used 1 barriers, 8 bytes cumulative stack size, 8256 bytes smem, 536 bytes cmem[0]
"""


class PtxasLog(unittest.TestCase):
    def test_kernels(self):
        r = ptxas_log.parse(LOG)
        self.assertEqual(sorted(r), ["_Z5spillPf", "_Z6simplePf"])
        self.assertEqual(r["_Z6simplePf"], ptxas_log.Resources("sm_90", 26, 0, 0, 0, 0, 0))
        self.assertEqual(r["_Z5spillPf"], ptxas_log.Resources("sm_90", 64, 8256, 8, 4, 12, 1))

    def test_missing_lines_are_errors(self):
        cut = LOG[:LOG.index("ptxas info    : Used 64")]
        with self.assertRaisesRegex(ptxas_log.PtxasLogError, r"x\.txt: no 'Used .* _Z5spillPf"):
            ptxas_log.parse(cut, "x.txt")
        no_frame = LOG.replace("    8 bytes stack frame, 4 bytes spill stores, 12 bytes spill loads\n", "")
        with self.assertRaisesRegex(ptxas_log.PtxasLogError, "no stack frame/spill line for kernel _Z5spillPf"):
            ptxas_log.parse(no_frame)


if __name__ == "__main__":
    unittest.main()
