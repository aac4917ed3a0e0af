"""report.py end to end on a made-up build directory: the check's exit status follows the
bounds, and the markdown names the kernel and the broken rule."""
import os
import subprocess
import sys
import tempfile
import unittest

from test_sass import kernel_text

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "_Z11gemm_kernelPf"  # gemm_kernel(float*)

LOG = f"""\
ptxas info    : Compiling entry function '{NAME}' for 'sm_90'
ptxas info    : Function properties for {NAME}
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 64 registers, used 1 barriers, 8256 bytes smem
"""


def gemm(with_division: bool) -> str:
    division = ["CALL.REL.NOINC `($__internal_0_$__cuda_sm20_div_s64)"] if with_division else []
    return kernel_text(NAME, ["LDC R1, c[0x0][0x28]", ".L_k:", "LDG.E R2, desc[UR4][R4.64]", *division,
                              "STS [R0], R2", "BAR.SYNC 0x0", "LDS R3, [R5]", "FFMA R6, R3, R3, R6",
                              "@P1 BRA `(.L_k)", "EXIT"])


class Report(unittest.TestCase):
    def run_report(self, sass: str):
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "fake.sm_90.ptxas.txt"), "w") as f:
                f.write(LOG)
            with open(os.path.join(tmp, "fake.sm_90.sass"), "w") as f:
                f.write(sass)
            md = os.path.join(tmp, "report.md")
            run = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), "--build-dir", tmp,
                                  "--sources", "fake.cu", "--archs", "sm_90", "--check", "--markdown", md,
                                  "--source-label", "test"], capture_output=True, text=True)
            with open(md) as f:
                return run, f.read()

    def test_clean_kernel_passes(self):
        run, md = self.run_report(gemm(with_division=False))
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("0 failures", md)
        self.assertIn("| fake.cu | `gemm_kernel` | 256 | 64 | 0/0 | 0 | 8256 | 4 | 32 | 50.0% | registers |", md)

    def test_division_in_main_loop_fails(self):
        run, md = self.run_report(gemm(with_division=True))
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertIn("FAIL sm_90 fake.cu `gemm_kernel`: div64: 1 call sites", md)

    def test_missing_input_names_the_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), "--build-dir", tmp,
                                  "--sources", "fake.cu", "--archs", "sm_90"], capture_output=True, text=True)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("fake.sm_90.ptxas.txt missing", run.stderr)


if __name__ == "__main__":
    unittest.main()
