#!/usr/bin/env python3
"""Estimate of how much of the gradient all-reduce the overlapped GradientReducer hides
behind backward in a data-parallel DCGAN 64x64 iteration (benchmarks/NOTES.md,
"Data-parallel scaling"). Not a measurement: per-op backward times are the roofline
predictions of results/2026-12-01-roofline-prediction.md (H100 SXM, batch 128 per GPU),
bucket sizes are the GradientReducer's for the DCGAN parameters (1 MB buckets, last
parameter first), and the link model is NCCL ring all-reduce, t = 2(N-1)/N * S / B + a.

Timeline: a bucket's all-reduce starts when its last gradient is final (the end of the op
that writes it) and the previous bucket's all-reduce is done (one stream for them); what is
exposed is the time the last all-reduce ends after backward ends. D's reduction overlaps its
second (fake) backward pass, G's the G step's backward. Compute and communication are
assumed not to slow each other (NCCL's kernels take a few SMs).

    python3 benchmarks/overlap_estimate.py
"""
import pathlib

ROOFLINE = pathlib.Path(__file__).parent / "results" / "2026-12-01-roofline-prediction.md"

# Buckets in start order: (bytes, the op after which the last gradient in it is final).
# D: [D5 conv, D4 bn, D4 conv] 8.4 MB; [D3 bn, D3 conv] 2.1 MB; [D2 bn, D2 conv, D1 conv] 0.53 MB.
# G: [G5, G4 bn, G4, G3 bn, G3] 2.6 MB; [G2 bn, G2] 8.4 MB; [G1 bn, G1] 3.3 MB.
D_BUCKETS = [(4 * (8192 + 1024 + 2097152), "D4 conv2d grad-weight"),
             (4 * (512 + 524288), "D3 conv2d grad-weight"),
             (4 * (256 + 131072 + 3072), "D1 conv2d grad-weight")]
G_BUCKETS = [(4 * (3072 + 128 + 131072 + 256 + 524288), "G3 conv_transpose2d grad-weight"),
             (4 * (512 + 2097152), "G2 conv_transpose2d grad-weight"),
             (4 * (1024 + 819200), "G1 conv_transpose2d grad-weight")]

LINKS = [("NVLink, 2", 2, 250e9, 20e-6), ("NVLink, 4", 4, 250e9, 20e-6), ("NVLink, 8", 8, 250e9, 20e-6),
         ("IB, 16 (2 x 8)", 16, 45e9, 30e-6)]


def table_rows():
    """The H100 SXM per-kernel table: (op, launches, us each today, floor TF32 ms per launch)."""
    rows, inside = [], False
    for line in ROOFLINE.read_text().splitlines():
        if line.startswith("### H100 SXM5 80GB, batch 128: per kernel (today"):
            inside = True
            continue
        if inside and line.startswith("###"):
            break
        if not inside or not line.startswith("| ") or line.startswith(("| op", "| ---", "| **total")):
            continue
        f = [c.strip() for c in line.strip("|").split("|")]
        launches = int(f[2])
        rows.append((f[0], launches, float(f[8]) * 1e-6, float(f[12]) * 1e-3 / launches))
    return rows


def backward_pass(rows, first, last):
    """Ops of one backward pass: from the row named `first` to the next one named `last`."""
    start = next(i for i, r in enumerate(rows) if r[0] == first)
    end = next(i for i, r in enumerate(rows) if i > start and r[0] == last)
    return rows[start:end + 1]


def exposed(pass_rows, buckets, link, column, scale):
    """Seconds the all-reduces run past the end of backward."""
    _, n, bandwidth, latency = link
    clock, ready = 0.0, {}
    for op, _, today, floor in pass_rows:
        clock += (today if column == "today" else floor) * scale
        ready[op] = clock  # the last row of an op
    free = 0.0
    for size, op in buckets:
        free = max(free, ready[op]) + 2 * (n - 1) / n * size / bandwidth + latency
    return max(0.0, free - clock), clock


def main():
    rows = table_rows()
    d_pass = backward_pass(rows, "backward seed (ones)", "D1 weight grad")
    g_pass = backward_pass(rows, "G5 tanh backward", "G1 weight grad")
    floor_total = sum(r[3] * r[1] for r in rows)  # the TF32 floor of the whole iteration (kernels only)
    levels = [("today's kernels, 133.4 ms", "today", 1.0), ("PyTorch fp32 level, 14.4 ms", "floor", 14.4e-3 / floor_total),
              ("TF32 level, 7.7 ms", "floor", 7.7e-3 / floor_total), ("ideal TF32 floor", "floor", 1.0)]
    print(f"TF32 floor of the iteration's kernels: {floor_total * 1e3:.2f} ms")
    for link in LINKS:
        t = sum(2 * (link[1] - 1) / link[1] * s / link[2] + link[3] for s, _ in D_BUCKETS + G_BUCKETS)
        cells = []
        for name, column, scale in levels:
            e_d, c_d = exposed(d_pass, D_BUCKETS, link, column, scale)
            e_g, c_g = exposed(g_pass, G_BUCKETS, link, column, scale)
            cells.append(f"{name}: {(e_d + e_g) * 1e3:.3f} ms (D {e_d * 1e3:.3f}, G {e_g * 1e3:.3f}; backward D {c_d * 1e3:.2f}, G {c_g * 1e3:.2f})")
        print(f"{link[0]}: all-reduce {t * 1e3:.3f} ms an iteration; exposed with overlap:")
        for c in cells:
            print("   ", c)


if __name__ == "__main__":
    main()
