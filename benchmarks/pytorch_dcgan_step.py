#!/usr/bin/env python3
"""One DCGAN 64x64 training iteration with PyTorch, timed as benchmarks/dcgan_step times ours.

The model is the pytorch/examples DCGAN (nz 100, ngf = ndf = 64, nc 3, BatchNorm, ReLU in G,
LeakyReLU(0.2) in D, tanh and sigmoid outputs, 4x4 convolutions without bias, N(0, 0.02)
initialisation), trained with BCE and Adam (lr 2e-4, betas 0.5/0.999). One iteration: D on a
fresh real batch, G's fake batch through D detached, D's step, then the fake batch through D
for G's loss and G's step. Real and noise batches are drawn on the GPU each iteration.

Per mode and batch: warm-up iterations, then --iters iterations each bracketed by CUDA
events; prints the median and minimum ms per iteration, wall-clock ms per iteration, images/s
from the median and torch.cuda.max_memory_allocated over the timed loop, as a markdown table
with the same columns as dcgan_step. Modes: fp32 (TF32 off for matmul and cuDNN), tf32, and
bf16 (autocast to bfloat16 with channels_last tensors, TF32 on; BCE in fp32 on D's output).

A standalone measuring script, not a dependency of anything. Exit status: 0 when every run
ended with finite losses, 1 otherwise, 2 when PyTorch or a CUDA device is missing.
Usage: pytorch_dcgan_step.py [--batches 128 64] [--modes fp32 tf32 bf16] [--iters 200] [--warmup 30]
                             [--adam fused|foreach|default]
"""
import argparse
import contextlib
import math
import statistics
import sys
import time


def make_models(torch, nz, ngf, ndf, nc):
    nn = torch.nn

    def up(cin, cout, stride, pad):
        return [nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

    def down(cin, cout, bn=True):
        layers = [nn.Conv2d(cin, cout, 4, 2, 1, bias=False)]
        if bn:
            layers.append(nn.BatchNorm2d(cout))
        return layers + [nn.LeakyReLU(0.2, inplace=True)]

    generator = nn.Sequential(
        *up(nz, ngf * 8, 1, 0), *up(ngf * 8, ngf * 4, 2, 1), *up(ngf * 4, ngf * 2, 2, 1), *up(ngf * 2, ngf, 2, 1),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())
    discriminator = nn.Sequential(
        *down(nc, ndf, bn=False), *down(ndf, ndf * 2), *down(ndf * 2, ndf * 4), *down(ndf * 4, ndf * 8),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def init(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    generator.apply(init)
    discriminator.apply(init)
    return generator, discriminator


def run(torch, mode, batch, iters, warmup, adam):
    tf32 = mode in ("tf32", "bf16")
    bf16 = mode == "bf16"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True  # as pytorch/examples' DCGAN sets it
    device = torch.device("cuda")
    torch.manual_seed(1)
    nz, image = 100, 64
    net_g, net_d = make_models(torch, nz, 64, 64, 3)
    memory_format = torch.channels_last if bf16 else torch.contiguous_format
    net_g.to(device, memory_format=memory_format)
    net_d.to(device, memory_format=memory_format)
    adam_kwargs = {"fused": True} if adam == "fused" else {"foreach": True} if adam == "foreach" else {}
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999), **adam_kwargs)
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999), **adam_kwargs)
    criterion = torch.nn.BCELoss()
    ones = torch.full((batch,), 1.0, device=device)
    zeros = torch.zeros(batch, device=device)
    losses = {}

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def d_out(x):  # D's output in fp32 for the loss (BCELoss refuses autocast)
        with autocast():
            y = net_d(x)
        return y.float().view(-1)

    def iteration():
        real = torch.empty(batch, 3, image, image, device=device).uniform_(-1, 1)
        real = real.contiguous(memory_format=memory_format)
        net_d.zero_grad(set_to_none=True)
        err_d_real = criterion(d_out(real), ones)
        err_d_real.backward()
        with autocast():
            fake = net_g(torch.randn(batch, nz, 1, 1, device=device))
        err_d_fake = criterion(d_out(fake.detach()), zeros)
        err_d_fake.backward()
        opt_d.step()
        net_g.zero_grad(set_to_none=True)
        err_g = criterion(d_out(fake), ones)
        err_g.backward()
        opt_g.step()
        losses["d"], losses["g"] = err_d_real + err_d_fake, err_g

    for _ in range(warmup):
        iteration()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    stops = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    t0 = time.perf_counter()
    for i in range(iters):
        starts[i].record()
        iteration()
        stops[i].record()
    torch.cuda.synchronize()
    wall_ms = (time.perf_counter() - t0) * 1e3 / iters
    ms = [s.elapsed_time(e) for s, e in zip(starts, stops)]
    loss_d, loss_g = float(losses["d"]), float(losses["g"])
    result = {
        "mode": mode, "batch": batch, "median": statistics.median(ms), "min": min(ms), "wall": wall_ms,
        "peak_mib": torch.cuda.max_memory_allocated() / 2**20, "loss_d": loss_d, "loss_g": loss_g,
        "finite": math.isfinite(loss_d) and math.isfinite(loss_g),
    }
    del net_g, net_d, opt_g, opt_d
    torch.cuda.empty_cache()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 64])
    parser.add_argument("--modes", nargs="+", choices=["fp32", "tf32", "bf16"], default=["fp32", "tf32", "bf16"])
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--adam", choices=["fused", "foreach", "default"], default="fused")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("pytorch_dcgan_step: PyTorch is not installed", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("pytorch_dcgan_step: no CUDA device", file=sys.stderr)
        return 2

    print("## pytorch_dcgan_step: one DCGAN 64x64 training iteration with PyTorch\n")
    print(f"Device: {torch.cuda.get_device_name()}; PyTorch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"cuDNN {torch.backends.cudnn.version()}; eager, cudnn.benchmark on, Adam {args.adam}")
    results = [run(torch, mode, batch, args.iters, args.warmup, args.adam)
               for mode in args.modes for batch in args.batches]

    name = f"pytorch {torch.__version__.split('+')[0]} eager, Adam {args.adam}"
    print(f"\n### Whole training iteration (D real + D fake + G, both Adam steps), median of {args.iters} "
          f"after {args.warmup} warm-up\n")
    print("| implementation | mode | batch | ms/iter (median) | ms/iter (min) | wall ms/iter | images/s | peak MiB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {name} | {r['mode']} | {r['batch']} | {r['median']:.3f} | {r['min']:.3f} | {r['wall']:.3f} | "
              f"{1000.0 * r['batch'] / r['median']:.0f} | {r['peak_mib']:.0f} |")
    print()
    for r in results:
        print(f"{r['mode']} batch {r['batch']}: final Loss_D {r['loss_d']:.4f}, Loss_G {r['loss_g']:.4f}")
    if all(r["finite"] for r in results):
        print("\npytorch_dcgan_step: validation PASSED (losses finite)")
        return 0
    print("\npytorch_dcgan_step: validation FAILED: a loss is not finite")
    return 1


if __name__ == "__main__":
    sys.exit(main())
