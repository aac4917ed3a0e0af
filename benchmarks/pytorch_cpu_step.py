#!/usr/bin/env python3
"""PyTorch's side of benchmarks/cpu_step: one DCGAN training iteration on the CPU.

The README's configuration (32x32, nc 1, ngf = ndf = 32, nz 100, batch 64), the iteration of
cpu_step.cpp and dcgan_step.cpp: D on a real batch, G's fake batch through D detached, D's
Adam step (lr 2e-4, betas 0.5/0.999), then the fake batch through D for G's loss and G's
step. BCE loss, N(0, 0.02) initialisation, 4x4 convolutions without bias.

Prints each iteration's milliseconds after --warmup, then "cpu_ms <value>" (the process's
CPU time per iteration) and last "median_ms <value>", which cpu_step reads. Exit status 2 when torch is missing, 1 when a loss is not finite.
Usage: pytorch_cpu_step.py [--threads 2] [--iters 30] [--warmup 5] [--batch 64]
"""
import argparse
import math
import statistics
import sys
import time


def make_models(torch, nz, ngf, ndf, nc, image_size):
    nn = torch.nn
    doublings = 0
    size = 4
    while size < image_size:
        size *= 2
        doublings += 1
    width = ngf << (doublings - 1)
    g = [nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
    for _ in range(1, doublings):
        g += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU(True)]
        width //= 2
    g += [nn.ConvTranspose2d(width, nc, 4, 2, 1, bias=False), nn.Tanh()]
    width = ndf
    d = [nn.Conv2d(nc, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    for _ in range(1, doublings):
        d += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
              nn.LeakyReLU(0.2, inplace=True)]
        width *= 2
    d += [nn.Conv2d(width, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    generator, discriminator = nn.Sequential(*g), nn.Sequential(*d)

    def init(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    generator.apply(init)
    discriminator.apply(init)
    return generator, discriminator


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    nz, nc, image = 100, 1, 32
    net_g, net_d = make_models(torch, nz, 32, 32, nc, image)
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    criterion = torch.nn.BCELoss()
    batch = args.batch
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    losses = []

    def iteration():
        real = torch.empty(batch, nc, image, image).uniform_(-1, 1)
        net_d.zero_grad(set_to_none=True)
        err_real = criterion(net_d(real).view(-1), ones)
        err_real.backward()
        fake = net_g(torch.randn(batch, nz, 1, 1))
        err_fake = criterion(net_d(fake.detach()).view(-1), zeros)
        err_fake.backward()
        opt_d.step()
        net_g.zero_grad(set_to_none=True)
        err_g = criterion(net_d(fake).view(-1), ones)
        err_g.backward()
        opt_g.step()
        losses[:] = [err_real.item() + err_fake.item(), err_g.item()]

    for _ in range(args.warmup):
        iteration()
    ms = []
    cpu0 = time.process_time()
    for _ in range(args.iters):
        t0 = time.perf_counter()
        iteration()
        ms.append(1e3 * (time.perf_counter() - t0))
    cpu_ms = 1e3 * (time.process_time() - cpu0) / args.iters
    print("ms", " ".join(f"{m:.2f}" for m in ms))
    if not all(math.isfinite(x) for x in losses):
        print("losses not finite:", losses, file=sys.stderr)
        return 1
    print(f"cpu_ms {cpu_ms:.3f}")
    print(f"median_ms {statistics.median(ms):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
