"""The occupancy calculator against cases worked by hand from the per-SM limits, and against
the example the CUDA C++ Best Practices Guide publishes ("Calculating Occupancy")."""
import unittest

from occupancy import ARCHS, occupancy

SM80, SM90, SM70 = ARCHS["sm_80"], ARCHS["sm_90"], ARCHS["sm_70"]
KIB = 1024


class HandWorked(unittest.TestCase):
    def expect(self, arch, threads, regs, smem, blocks, warps, limiter=None):
        o = occupancy(arch, threads, regs, smem)
        self.assertEqual((o.blocks_per_sm, o.warps_per_sm), (blocks, warps),
                         f"{arch.name} {threads} threads {regs} regs {smem} B: {o}")
        if limiter:
            self.assertIn(limiter, o.limiters)
        return o

    def test_registers_at_256_threads(self):
        # 8 warps per block. A warp takes regs*32 rounded up to 256; each of the 4
        # sub-partitions has 16384 registers.
        #  32 regs: 1024/warp, 16 warps per sub-partition, 64 per SM -> 8 blocks (warp limit too)
        #  64 regs: 2048/warp,  8 -> 32 warps -> 4 blocks
        # 128 regs: 4096/warp,  4 -> 16 warps -> 2 blocks
        # 255 regs: 8160 -> 8192/warp, 2 -> 8 warps -> 1 block
        for arch in (SM80, SM90):
            self.assertEqual(self.expect(arch, 256, 32, 0, 8, 64).fraction, 1.0)
            self.assertEqual(self.expect(arch, 256, 64, 0, 4, 32, "registers").fraction, 0.5)
            self.assertEqual(self.expect(arch, 256, 128, 0, 2, 16, "registers").fraction, 0.25)
            self.assertEqual(self.expect(arch, 256, 255, 0, 1, 8, "registers").fraction, 0.125)

    def test_register_allocation_unit(self):
        # 33 regs: 1056 -> 1280 per warp; 16384 // 1280 = 12 warps per sub-partition, 48 per
        # SM -> 6 blocks of 8 warps. Without the rounding it would be 65536 // 1056 = 62 -> 7.
        self.expect(SM90, 256, 33, 0, 6, 48, "registers")

    def test_sub_partitions(self):
        # 3-warp blocks at 40 regs (1280 per warp): 12 warps per sub-partition, 48 per SM -> 16
        # blocks. One pool of 65536 registers would hold 51 warps -> 17 blocks.
        self.expect(SM90, 96, 40, 0, 16, 48, "registers")

    def test_shared_memory_at_256_threads(self):
        # 32 regs. 16 KiB + 1 KiB reserved = 17408 B: sm_90 228 KiB // 17 KiB = 13, sm_80
        # 164 // 17 = 9, both above the warp limit of 8.
        self.expect(SM90, 256, 32, 16 * KIB, 8, 64, "warps")
        self.expect(SM80, 256, 32, 16 * KIB, 8, 64, "warps")
        # 48 KiB + 1 = 49 KiB: sm_90 228 // 49 = 4 blocks (32 warps), sm_80 164 // 49 = 3 (24).
        self.expect(SM90, 256, 32, 48 * KIB, 4, 32, "shared memory")
        self.expect(SM80, 256, 32, 48 * KIB, 3, 24, "shared memory")
        # 64 regs and 48 KiB on sm_80: registers allow 4 blocks, shared memory 3.
        self.expect(SM80, 256, 64, 48 * KIB, 3, 24, "shared memory")
        # 0 bytes still costs the reserved KiB, which never binds at 256 threads.
        o = self.expect(SM90, 256, 32, 0, 8, 64)
        self.assertEqual(o.by_shared, 228)

    def test_reserved_kib_per_block(self):
        # 56 KiB + 1 = 57: 228 // 57 = 4 blocks. 57 KiB + 1 = 58: 3 blocks, though 228 // 57
        # would be 4 without the driver's reserved KiB.
        self.expect(SM90, 128, 32, 56 * KIB, 4, 16, "shared memory")
        self.expect(SM90, 128, 32, 57 * KIB, 3, 12, "shared memory")

    def test_shared_allocation_unit(self):
        # The library's GEMM tile: 8256 B + 1024 = 9280, rounded to 128 B = 9344.
        # sm_90: 233472 // 9344 = 24 (25 unrounded); sm_80: 167936 // 9344 = 17 (18 unrounded).
        self.assertEqual(occupancy(SM90, 256, 32, 8256).by_shared, 24)
        self.assertEqual(occupancy(SM80, 256, 32, 8256).by_shared, 17)

    def test_block_limit(self):
        # 1-warp blocks with few registers: 32 blocks per SM, half the warp slots.
        o = self.expect(SM90, 32, 16, 0, 32, 32, "blocks")
        self.assertEqual(o.fraction, 0.5)

    def test_launches_that_cannot_run(self):
        for threads, regs, smem in ((1056, 32, 0), (1024, 128, 0), (256, 256, 0), (256, 32, 228 * KIB)):
            o = occupancy(SM90, threads, regs, smem)
            self.assertEqual(o.blocks_per_sm, 0, (threads, regs, smem))
            self.assertTrue(o.why_none)

    def test_rejects_nonsense(self):
        with self.assertRaises(ValueError):
            occupancy(SM90, 0, 32, 0)


class BestPracticesGuide(unittest.TestCase):
    """CUDA C++ Best Practices Guide, "Calculating Occupancy": on compute capability 7.0, 37
    registers at 128 threads per block give 75% (12 blocks), at 320 threads 63% (4 blocks)."""

    def test_published_example(self):
        o = occupancy(SM70, 128, 37, 0)
        self.assertEqual((o.blocks_per_sm, o.fraction), (12, 0.75))
        o = occupancy(SM70, 320, 37, 0)
        self.assertEqual(o.blocks_per_sm, 4)
        self.assertAlmostEqual(o.fraction, 0.625)


if __name__ == "__main__":
    unittest.main()
