// The DCGAN iteration's device memory, counted from its shapes (memory_model.h).
#include "memory_model.h"

#include <algorithm>
#include <cstdio>

#include "../kernels/cuda/batchnorm_activation_plan.h"
#include "../kernels/cuda/conv_problems.h"
#include "../kernels/cuda/gemm_plan.h"
#include "../kernels/cuda/mma_plan.h"

namespace memory_model {

namespace {

constexpr int64_t kF = 4;  // every tensor is float32 (BF16 mode narrows the GEMMs' operands, not the tensors)

int64_t block_of_floats(int64_t n) { return allocator_block(kF * n); }

// One convolution layer in conv2d's terms (a transposed layer's input plays conv2d's y):
// x [n, c, h, h], w [k, c, r, r], y [n, k, p, p].
struct Conv {
    int64_t n, c, h, k, p, r, stride, pad;
    int64_t x() const { return n * c * h * h; }
    int64_t y() const { return n * k * p * p; }
    int64_t w() const { return k * c * r * r; }
};

struct Gemm {
    int64_t M, N, K;
};

int64_t splits(const Gemm& g, GemmPath path) {
    if (g.M == 0 || g.N == 0) return 1;
    return path == GemmPath::Simt ? ganops::cuda::gemm::plan(g.M, g.N, g.K).splits
                                  : ganops::cuda::mma::mma_plan(g.M, g.N, g.K).splits;
}

// The split-K partials one GEMM allocates for its duration (implicit_gemm*.cuh): splits * M * N floats.
int64_t workspace(const Gemm& g, GemmPath path) {
    const int64_t s = splits(g, path);
    return s > 1 ? block_of_floats(s * g.M * g.N) : 0;
}

// The GEMMs of each pass, as kernels/cuda/conv2d.cu runs them (roofline.cpp counts the same).
std::vector<Gemm> forward_gemms(const Conv& v) { return {{v.n * v.p * v.p, v.k, v.c * v.r * v.r}}; }
std::vector<Gemm> weight_gemms(const Conv& v) { return {{v.c * v.r * v.r, v.k, v.n * v.p * v.p}}; }
std::vector<Gemm> input_gemms(const Conv& v) {
    if (v.p == 1) return {{v.c * v.h * v.h, v.n, v.k}};  // one product per input pixel (conv_problems.h)
    std::vector<Gemm> out;
    namespace conv = ganops::cuda::conv;
    for (int64_t rh = 0; rh < v.stride; ++rh)
        for (int64_t rw = 0; rw < v.stride; ++rw) {
            const conv::Phase1D rows = conv::phase_1d(int(v.h), int(v.r), int(v.stride), int(v.pad), 1, int(rh));
            const conv::Phase1D cols = conv::phase_1d(int(v.h), int(v.r), int(v.stride), int(v.pad), 1, int(rw));
            out.push_back({v.n * rows.count * cols.count, v.c, v.k * rows.taps * cols.taps});
        }
    return out;
}

int64_t largest_workspace(const std::vector<Gemm>& gemms, GemmPath path) {
    int64_t most = 0;
    for (const Gemm& g : gemms) most = std::max(most, workspace(g, path));
    return most;
}

// A layer of either net: its convolution (conv2d's terms), whether it is transposed, and
// whether batchnorm follows (then an activation; the last layers have only an activation).
struct Layer {
    std::string name;
    Conv conv;
    bool transposed, batchnorm;
    int64_t in() const { return transposed ? conv.y() : conv.x(); }    // the layer's input elements
    int64_t out() const { return transposed ? conv.x() : conv.y(); }   // its output elements
    int64_t out_channels() const { return transposed ? conv.c : conv.k; }
};

std::string layer_name(char net, int64_t index) {
    char name[24];
    std::snprintf(name, sizeof name, "%c%lld", net, (long long)index);
    return name;
}

int doublings(int64_t image) {
    int n = 0;
    for (int64_t s = 4; s < image; s *= 2) ++n;
    return n;
}

std::vector<Layer> generator(const roofline::DcganShape& s) {
    const int n = doublings(s.image);
    std::vector<Layer> out;
    int64_t width = s.ngf << (n - 1), size = 4;
    // G1: nz x 1x1 -> width x 4x4, stride 1; in conv2d's terms x is the 4x4 output.
    out.push_back({"G1", {s.batch, width, 4, s.nz, 1, 4, 1, 0}, true, true});
    for (int i = 1; i < n; ++i, width /= 2, size *= 2)
        out.push_back({layer_name('G', i + 1), {s.batch, width / 2, size * 2, width, size, 4, 2, 1}, true, true});
    out.push_back({layer_name('G', n + 1), {s.batch, s.nc, size * 2, width, size, 4, 2, 1}, true, false});
    return out;
}

std::vector<Layer> discriminator(const roofline::DcganShape& s) {
    const int n = doublings(s.image);
    std::vector<Layer> out;
    int64_t width = s.ndf, size = s.image;
    out.push_back({"D1", {s.batch, s.nc, size, width, size / 2, 4, 2, 1}, false, false});
    size /= 2;
    for (int i = 1; i < n; ++i, width *= 2, size /= 2)
        out.push_back({layer_name('D', i + 1), {s.batch, width, size, width * 2, size / 2, 4, 2, 1}, false, true});
    out.push_back({layer_name('D', n + 1), {s.batch, width, 4, 1, 1, 4, 1, 0}, false, false});
    return out;
}

// One recorded op of a net's forward pass, for the backward simulation below.
struct Op {
    std::string name;
    std::vector<int> saved;   // tensors its node keeps for backward (ids into Graph::bytes)
    int64_t out = 0, in = 0;  // blocks of its output and of its input (its gradients)
    bool input_grad = false;  // a gradient flows to its input
    int64_t dw = 0;           // its parameters' gradient blocks (weight, or BN's weight and bias)
    int64_t dx_scratch = 0, dw_scratch = 0;  // split-K partials or per-channel partial sums
};

struct Graph {
    std::vector<int64_t> bytes;  // per tensor id
    std::vector<Op> ops;         // in forward order
    int64_t forward_peak = 0;    // over the forward pass, of saved tensors plus the op's transient output
    int tensor(int64_t b) {
        bytes.push_back(b);
        return int(bytes.size()) - 1;
    }
};

// The fused batchnorm + activation's scratch (batchnorm2d_activation.cu): two doubles per
// channel and split, and three floats per channel (the forward's map or the backward's dx
// coefficients). The plan of an NCHW batch [n, c, hw] (the step's default format).
int64_t bn_act_scratch(int64_t n, int64_t channels, int64_t hw) {
    const ganops::cuda::BnActPlan p = ganops::cuda::bn_act_plan(n, channels, hw, true);
    return allocator_block(16 * channels * p.splits) + block_of_floats(3 * channels);
}

// Appends a net's forward ops on an input tensor `x` (an id; its block is counted by the
// caller) to `g`: per layer the convolution (saves its input), then batchnorm and the
// activation as one op (nn::Sequential runs them fused in training: saves its input, two
// per-channel vectors and its output) or the activation alone (saves its output), as
// nn/functional/*.cpp record them. Returns the id of the net's output.
int add_net(Graph& g, const std::vector<Layer>& net, int x, bool first_input_grad, bool weight_grads, GemmPath path) {
    int64_t saved_so_far = 0;
    for (int64_t b : g.bytes) saved_so_far += b;  // every tensor made so far is held by some node
    for (const Layer& l : net) {
        const int64_t out = block_of_floats(l.out()), in = block_of_floats(l.in());
        const bool input_grad = &l != &net.front() || first_input_grad;
        Op conv{l.name + " convolution", {x}, out, in, input_grad};
        const std::vector<Gemm> dx = l.transposed ? forward_gemms(l.conv) : input_gemms(l.conv);
        conv.dx_scratch = input_grad ? largest_workspace(dx, path) : 0;
        const std::vector<Gemm> fwd = l.transposed ? input_gemms(l.conv) : forward_gemms(l.conv);
        g.forward_peak = std::max(g.forward_peak, saved_so_far + out + largest_workspace(fwd, path));
        if (weight_grads) {
            conv.dw = block_of_floats(l.conv.w());
            conv.dw_scratch = largest_workspace(weight_gemms(l.conv), path);
        }
        g.ops.push_back(conv);
        int y;
        if (l.batchnorm) {
            const int c = g.tensor(out), mean = g.tensor(block_of_floats(l.out_channels())),
                      invstd = g.tensor(block_of_floats(l.out_channels()));
            y = g.tensor(out);
            const int64_t channels = l.out_channels(), hw = l.out() / (l.conv.n * channels);
            const int64_t scratch = bn_act_scratch(l.conv.n, channels, hw);
            Op bn{l.name + " batchnorm + activation", {c, mean, invstd, y}, out, out, true};
            // dx, dweight, dbias and the scratch stand together (kernels/batchnorm2d.cpp allocates
            // the gradients first).
            if (weight_grads) bn.dw = 2 * block_of_floats(channels);
            bn.dx_scratch = scratch + bn.dw;
            g.ops.push_back(bn);
            // the convolution's output, the statistics and the output stand with the scratch
            saved_so_far += out + 2 * block_of_floats(channels);
            g.forward_peak = std::max(g.forward_peak, saved_so_far + out + scratch);
            saved_so_far += out;
        } else {
            // the convolution's output stands while the activation runs, then goes
            g.forward_peak = std::max(g.forward_peak, saved_so_far + 2 * out);
            y = g.tensor(out);
            saved_so_far += out;
            g.ops.push_back({l.name + " activation", {y}, out, out, true});
        }
        x = y;
    }
    return x;
}

struct Phase {
    int64_t peak = 0;
    std::string where;
};

// A backward pass through `g` from its last op to its first, freeing each op's saved tensors
// once no op still to run holds them (SavedTensors::Free). `grads_before`: parameter
// gradients that stand throughout; unless `grads_exist` (a second backward adding into
// them), the ones the pass creates accumulate on top.
Phase backward_peak(const Graph& g, int64_t grads_before, bool grads_exist) {
    Phase p;
    // The loss (which the step keeps for the monitor) and backward's seed gradient of 1
    // stand throughout.
    int64_t grads = grads_before + 2 * allocator_block(4);
    for (size_t k = g.ops.size(); k-- > 0;) {
        std::vector<bool> held(g.bytes.size(), false);
        for (size_t j = 0; j <= k; ++j)
            for (int t : g.ops[j].saved) held[size_t(t)] = true;
        int64_t saved = 0;
        for (size_t t = 0; t < held.size(); ++t) saved += held[t] ? g.bytes[t] : 0;
        const Op& op = g.ops[k];
        const int64_t dx = op.input_grad ? op.in : 0;
        // The incoming gradient stands throughout; the input gradient is computed first (with
        // its scratch), then the weight gradient next to it (with its own), which goes into
        // .grad as a copy or a sum while the fresh one still stands.
        const int64_t working = op.out + std::max(dx + op.dx_scratch, dx + op.dw + std::max(op.dw_scratch, op.dw));
        if (saved + grads + working > p.peak) {
            p.peak = saved + grads + working;
            p.where = op.name + " backward";
        }
        if (!grads_exist) grads += op.dw;
    }
    return p;
}

int64_t params_bytes(const std::vector<Layer>& net) {
    int64_t bytes = 0;
    for (const Layer& l : net) bytes += block_of_floats(l.conv.w()) + (l.batchnorm ? 2 * block_of_floats(l.out_channels()) : 0);
    return bytes;
}

int64_t running_stats_bytes(const std::vector<Layer>& net) {
    int64_t bytes = 0;
    for (const Layer& l : net)
        if (l.batchnorm) bytes += 2 * block_of_floats(l.out_channels());
    return bytes;
}

}  // namespace

int64_t allocator_block(int64_t bytes) {
    // core/cuda_allocator.cpp: 512-byte granules below 1 MiB, 2 MiB granules from there.
    if (bytes == 0) bytes = 1;
    const int64_t granule = bytes < (int64_t{1} << 20) ? 512 : (int64_t{2} << 20);
    return (bytes + granule - 1) / granule * granule;
}

int64_t DcganMemory::persistent_bytes() const {
    int64_t bytes = 0;
    for (const Part& p : persistent) bytes += p.bytes;
    return bytes;
}


DcganMemory dcgan_step_memory(const roofline::DcganShape& s, GemmPath path, bool graph) {
    const std::vector<Layer> g = generator(s), d = discriminator(s);
    DcganMemory m;
    const int64_t g_params = params_bytes(g), d_params = params_bytes(d);
    // Gradients stand only from a backward to its optimizer step (step.cpp drops them then).
    m.persistent = {{"parameters", g_params + d_params},
                    {"Adam's two moments", 2 * (g_params + d_params)},
                    {"batchnorm running statistics", running_stats_bytes(g) + running_stats_bytes(d)},
                    // DcganStep's targets (real, fake, ones) and the monitor's doubles (kernels/training_monitor.cpp:
                    // 2 + (capacity + 1) * fields, train.cpp's capacity 16 on a GPU).
                    {"targets and training monitor", 3 * block_of_floats(s.batch) + allocator_block(8 * (2 + 17 * 5))}};
    m.batch = block_of_floats(s.batch * s.nc * s.image * s.image) * (graph ? 2 : 1);
    const int64_t base = m.persistent_bytes() + m.batch, loss = allocator_block(4);
    auto consider = [&](int64_t bytes, const std::string& where) {
        if (bytes > m.peak_bytes) {
            m.peak_bytes = bytes;
            m.peak_at = where;
        }
    };
    auto add_loss = [&](Graph& graph_, int p) { graph_.ops.push_back({"BCE", {p}, loss, graph_.bytes[size_t(p)], true}); };

    // (1) D on the real batch, then its backward: D's gradients appear.
    Graph real;
    add_loss(real, add_net(real, d, real.tensor(0), false, true, path));
    consider(base + real.forward_peak, "D(real) forward");
    const Phase real_back = backward_peak(real, 0, false);
    consider(base + real_back.peak, "D(real) " + real_back.where);
    // (2) G on noise (its graph stands until the generator step), D on the fake batch
    // detached, adding into D's gradients.
    Graph fake;
    add_net(fake, g, fake.tensor(block_of_floats(s.batch * s.nz)), false, true, path);
    for (int64_t b : fake.bytes) m.saved_g += b;
    consider(base + d_params + fake.forward_peak, "G forward");
    Graph detached;
    add_loss(detached, add_net(detached, d, detached.tensor(0), false, true, path));
    for (int64_t b : detached.bytes) m.saved_d += b;
    m.saved_d += loss;
    consider(base + d_params + m.saved_g + detached.forward_peak, "D(fake) forward");
    const Phase detached_back = backward_peak(detached, d_params, true);
    consider(base + m.saved_g + detached_back.peak, "D(fake) " + detached_back.where);
    // (3) The generator step: D on the fake batch (input gradients only) and back through
    // G; D's gradients were dropped after its step.
    const int fake_out = add_net(fake, d, int(fake.bytes.size()) - 1, true, false, path);
    add_loss(fake, fake_out);
    consider(base + fake.forward_peak, "D(G(z)) forward");
    const Phase g_back = backward_peak(fake, 0, false);
    consider(base + g_back.peak, "generator step: " + g_back.where);
    return m;
}

std::vector<PytorchPeak> pytorch_peaks_batch128() { return {{"tf32", 465}, {"fp32", 365}, {"bf16", 235}}; }

std::string memory_report(const roofline::DcganShape& s) {
    constexpr double kMiB = 1024.0 * 1024.0;
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line,
                  "\nDevice memory of one iteration (batch %lld, replayed as a graph), predicted: the caching allocator's\n"
                  "blocks in use at the peak (benchmarks/memory_model.h)\n\n",
                  (long long)s.batch);
    out += line;
    out += "| mode | parameters + Adam + buffers MiB | batch + graph input MiB | G's graph MiB | D's graph MiB | predicted peak MiB | at | PyTorch peak MiB (issue 14, batch 128) |\n";
    out += "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n";
    for (const PytorchPeak& p : pytorch_peaks_batch128()) {
        const DcganMemory m = dcgan_step_memory(s, std::string(p.mode) == "fp32" ? GemmPath::Simt : GemmPath::TensorCore, true);
        char pytorch[32] = "-";
        if (s.batch == 128) std::snprintf(pytorch, sizeof pytorch, "%.0f", p.mib);
        std::snprintf(line, sizeof line, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %s |\n", p.mode,
                      double(m.persistent_bytes()) / kMiB, double(m.batch) / kMiB, double(m.saved_g) / kMiB,
                      double(m.saved_d) / kMiB, double(m.peak()) / kMiB, m.peak_at.c_str(), pytorch);
        out += line;
    }
    out += "\nTensors stay float32 in every mode (BF16 narrows the GEMMs' operands only), so the BF16 row is the TF32 one;\n"
           "PyTorch's BF16 peak holds bf16 activations (autocast). Measured peaks: dcgan_step's peak MiB column on a GPU.\n";
    return out;
}

}  // namespace memory_model
