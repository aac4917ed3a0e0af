"""Kernel names and classes, and the block-size table against the launches in kernels/cuda."""
import glob
import os
import re
import unittest

import kernels

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


class Names(unittest.TestCase):
    def test_display_and_base_names(self):
        cases = {
            "void ganops::cuda::gemm::gemm_kernel<ganops::cuda::conv::Forward>(ganops::cuda::conv::Forward, long, float*)":
                ("gemm::gemm_kernel<conv::Forward>", "gemm_kernel"),
            "ganops::cuda::(anonymous namespace)::forward_kernel(float const*, long, long, float*)":
                ("forward_kernel", "forward_kernel"),
            "void ganops::cuda::(anonymous namespace)::fill_kernel<float>(float*, long, float)":
                ("fill_kernel<float>", "fill_kernel"),
            "void ganops::cuda::f<(anonymous namespace)::S<int (*)(int)>>(int (*)(int))":
                ("f<S<int (*)(int)>>", "f"),
        }
        for demangled, (display, base) in cases.items():
            self.assertEqual(kernels.display_name(demangled), display)
            self.assertEqual(kernels.base_name(display), base)

    def test_demangle(self):
        self.assertEqual(kernels.demangle(["_Z11gemm_kernelPf"]), {"_Z11gemm_kernelPf": "gemm_kernel(float*)"})

    def test_classes(self):
        self.assertEqual(kernels.kernel_class("gemm_kernel"), kernels.GEMM)
        self.assertEqual(kernels.kernel_class("conv_dgrad_kernel"), kernels.GEMM)
        # The split-K reduction is elementwise, whatever its template argument says.
        self.assertEqual(kernels.kernel_class(kernels.base_name("gemm::reduce_splits_kernel<conv::Forward>")),
                         kernels.OTHER)
        self.assertTrue(kernels.is_tensor_core("gemm_tc_kernel"))
        self.assertTrue(kernels.is_tensor_core("conv_mma_kernel"))
        self.assertFalse(kernels.is_tensor_core("batchnorm_kernel"))  # "tc" inside a word
        self.assertFalse(kernels.is_tensor_core("gemm_kernel"))


def _launches(text):
    """(kernel, block) of every GANOPS_LAUNCH(kernel, grid, block, ...) in a source."""
    out = []
    for m in re.finditer(r"GANOPS_LAUNCH\(", text):
        args, depth, current, i = [], 0, "", m.end()
        while i < len(text):
            ch = text[i]
            if ch == ")" and depth == 0:
                break
            if ch == "," and depth == 0:
                args.append(current.strip())
                current = ""
            else:
                depth += ch in "(<[{"
                depth -= ch in ")>]}"
                current += ch
            i += 1
        args.append(current.strip())
        out.append((args[0], args[2]))
    return out


class BlockSizes(unittest.TestCase):
    """The report's block sizes are the ones the library launches with."""

    def test_launch_constants(self):
        with open(os.path.join(REPO, "kernels", "cuda", "launch.cuh")) as f:
            m = re.search(r"constexpr int kThreads = (\d+);", f.read())
        self.assertIsNotNone(m, "kThreads not found in kernels/cuda/launch.cuh")
        self.assertEqual(kernels.LAUNCH_CONSTANTS["kThreads"], int(m.group(1)))
        with open(os.path.join(REPO, "kernels", "cuda", "implicit_gemm.cuh")) as f:
            self.assertIn("static_assert(kGemmThreads == kThreads)", f.read(),
                          "kGemmThreads is no longer kThreads: update kernels.LAUNCH_CONSTANTS")

    def test_every_launch(self):
        sources = [p for p in glob.glob(os.path.join(REPO, "kernels", "cuda", "*")) if p.endswith((".cu", ".cuh"))]
        seen = 0
        for path in sources:
            with open(path) as f:
                text = f.read()
            for kernel, block in _launches(text):
                if kernel == "kernel":  # the macro's own definition and comments
                    continue
                seen += 1
                expected = kernels.BLOCK_SIZES.get(kernel, kernels.DEFAULT_BLOCK)
                self.assertEqual(block, expected, f"{os.path.basename(path)}: {kernel} is launched with {block} "
                                                  f"threads, tools/sass_report/kernels.py says {expected}")
        self.assertGreater(seen, 10)

    def test_mma_async_shared_bytes(self):
        """MMA_ASYNC_SHARED_BYTES is mma_plan.h's async_shared_bytes for each tile."""
        with open(os.path.join(REPO, "kernels", "cuda", "mma_plan.h")) as f:
            text = f.read()
        bk = 2 * int(re.search(r"constexpr int kMmaBK = (\d+);", text).group(1))
        self.assertIn("constexpr int kAsyncBK = 2 * kMmaBK;", text)
        stages = int(re.search(r"constexpr int kAsyncStages = (\d+);", text).group(1))
        shapes = re.findall(r"TileShape\{(\d+), (\d+), \d+, \d+\}", text)
        self.assertEqual(len(shapes), len(kernels.MMA_ASYNC_SHARED_BYTES))
        for index, (bm, bn) in enumerate(shapes):
            operand = lambda rows: 4 * max(rows * (bk + 4), bk * (rows + 8))
            self.assertEqual(kernels.MMA_ASYNC_SHARED_BYTES[index], stages * (operand(int(bm)) + operand(int(bn))))
        self.assertEqual(kernels.dynamic_shared_bytes("mma_gemm_async_kernel", "mma::mma_gemm_async_kernel<"
                                                      "(mma::TileConfig)3, (mma::Mode)0, conv::nhwc::ForwardNhwc>"), 110592)
        self.assertEqual(kernels.dynamic_shared_bytes("mma_gemm_kernel", "mma::mma_gemm_kernel<(mma::TileConfig)0>"), 0)

    def test_mma_tile_threads(self):
        """MMA_TILE_THREADS is 32 x the warps of each tile in mma_plan.h, in TileConfig's order."""
        with open(os.path.join(REPO, "kernels", "cuda", "mma_plan.h")) as f:
            text = f.read()
        order = re.search(r"enum class TileConfig \{([^}]*)\}", text)
        self.assertIsNotNone(order, "TileConfig not found in kernels/cuda/mma_plan.h")
        names = [n.strip() for n in order.group(1).split(",")]
        self.assertEqual(len(names), len(kernels.MMA_TILE_THREADS))
        for index, name in enumerate(names):
            # tile_shape() is a chain `c == TileConfig::X ? TileShape{...} : ... : TileShape{...}`
            # whose final else is the last enumerator.
            if index < len(names) - 1:
                shape = re.search(r"TileConfig::" + name + r"\s*\?\s*TileShape\{(\d+), (\d+), (\d+), (\d+)\}", text)
            else:
                shape = re.search(r":\s*TileShape\{(\d+), (\d+), (\d+), (\d+)\};", text)
            self.assertIsNotNone(shape, f"no TileShape for {name} in mma_plan.h")
            self.assertEqual(kernels.MMA_TILE_THREADS[index], 32 * int(shape.group(3)) * int(shape.group(4)), name)
        self.assertEqual(kernels.block_size("mma_gemm_kernel", "mma::mma_gemm_kernel<(mma::TileConfig)0, (mma::Mode)0, "
                                                                "conv::Forward>"), 256)
        self.assertEqual(kernels.block_size("mma_gemm_kernel", "mma::mma_gemm_kernel<(mma::TileConfig)2, (mma::Mode)1, "
                                                                "conv::Forward>"), 128)
        self.assertEqual(kernels.block_size("mma_gemm_async_kernel", "mma::mma_gemm_async_kernel<(mma::TileConfig)0, "
                                                                      "(mma::Mode)0, conv::nhwc::ForwardNhwc>"), 256)

    def test_parser(self):
        self.assertEqual(_launches("GANOPS_LAUNCH(k, dim3(a, b), kThreads, 0, s)(x);"), [("k", "kThreads")])


if __name__ == "__main__":
    unittest.main()
