#include "tools.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include <ganops/nn/checkpoint.h>

#include "common/fashion_mnist.h"
#include "common/sample_quality.h"
#include "image.h"

namespace dcgan {

using namespace ganops;
namespace fs = std::filesystem;

namespace {

Device pick_device(const std::string& name) {
    if (name.empty()) return cuda::available() ? Device::CUDA : Device::CPU;
    GANOPS_CHECK(name == "cpu" || name == "cuda", "--device must be cuda or cpu, got \"", name, "\"");
    GANOPS_CHECK(name == "cpu" || cuda::available(), "--device cuda: no usable CUDA device (use --device cpu)");
    return name == "cuda" ? Device::CUDA : Device::CPU;
}

// Latent vectors 0 .. count-1 of the tool stream, on the host, [count][nz].
std::vector<float> latents(int64_t count, int64_t nz, uint64_t seed) {
    Generator gen{seed, 0};
    return Tensor::normal({count, nz}, 0, 1, gen).to_vector();
}

Tensor run_generator(nn::DcganGenerator& netG, const std::vector<float>& z, Device device) {
    NoGradGuard no_grad;
    const int64_t nz = netG.config.nz, n = int64_t(z.size()) / nz;
    return netG(Tensor::from_vector({n, nz, 1, 1}, z, device)).to(Device::CPU);
}

std::vector<int64_t> parse_indices(const std::string& text, const char* flag) {
    std::vector<int64_t> out;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ',');) {
        size_t used = 0;
        long long v = -1;
        try {
            v = std::stoll(part, &used);
        } catch (const std::exception&) {
        }
        GANOPS_CHECK(v >= 0 && used == part.size(), flag, ": \"", part, "\" is not a latent index (a number >= 0)");
        out.push_back(v);
    }
    GANOPS_CHECK(!out.empty(), flag, ": give one or more latent indices, e.g. 3,17,42");
    return out;
}

void prepare_folder(const std::string& outf) {
    std::error_code ec;
    fs::create_directories(outf, ec);
    GANOPS_CHECK(!ec && fs::is_directory(outf), "cannot create the output folder ", outf, ": ", ec ? ec.message() : "a file of that name exists");
}

std::string in_folder(const std::string& outf, const std::string& name) { return (fs::path(outf) / name).string(); }

}  // namespace

std::unique_ptr<nn::DcganGenerator> load_generator(const std::string& path, Device device) {
    const nn::SafetensorsFile file = nn::read_safetensors(path);
    const std::string prefix = file.find("main.0.weight") ? "" : file.find("netG.main.0.weight") ? "netG." : "?";
    GANOPS_CHECK(prefix != "?", path, ": no generator here (neither \"main.0.weight\" nor \"netG.main.0.weight\")");
    // The transposed convolutions are the 4-d weights, in layer order.
    std::map<int64_t, const nn::StoredTensor*> convs;
    for (const auto& [name, t] : file.tensors) {
        if (name.rfind(prefix + "main.", 0) != 0 || t.shape.size() != 4) continue;
        const std::string rest = name.substr(prefix.size() + 5);
        const size_t dot = rest.find('.');
        if (dot == std::string::npos || rest.substr(dot) != ".weight") continue;
        try {
            convs[std::stoll(rest.substr(0, dot))] = &t;
        } catch (const std::exception&) {
        }
    }
    GANOPS_CHECK(convs.size() >= 4, path, ": ", convs.size(), " transposed convolutions found; a DCGAN generator for 32x32 or more has at least 4");
    const nn::StoredTensor& first = *convs.begin()->second;
    const nn::StoredTensor& last = *convs.rbegin()->second;
    const nn::DcganConfig config{.nz = first.shape[0], .ngf = last.shape[0], .ndf = 1, .nc = last.shape[1],
                                 .image_size = int64_t(4) << (convs.size() - 1)};
    auto netG = std::make_unique<nn::DcganGenerator>(config);
    netG->to(device);
    nn::load_state_dict(*netG, file, path, prefix);
    netG->eval();
    std::printf("generator %s: nz %lld, ngf %lld, %lld channel(s), %lldx%lld\n", path.c_str(), (long long)config.nz,
                (long long)config.ngf, (long long)config.nc, (long long)config.image_size, (long long)config.image_size);
    return netG;
}

void report_sample_quality(nn::DcganGenerator& netG, const std::string& classifier_path, const std::string& eval_dataroot,
                           int64_t count, uint64_t seed, Device device, const std::string& outf) {
    const auto classifier = examples::load_classifier(classifier_path, device);
    const int64_t n = std::min<int64_t>(count, 10000);
    const examples::LabelledImages real = examples::load_fashion_mnist(eval_dataroot, "t10k", 32, n);
    const bool was_training = netG.is_training();
    netG.eval();
    const std::vector<float> z = latents(n, netG.config.nz, seed);
    std::vector<float> images;
    for (int64_t begin = 0; begin < n; begin += 500) {
        const int64_t end = std::min(n, begin + 500);
        const std::vector<float> part =
            run_generator(netG, std::vector<float>(z.begin() + begin * netG.config.nz, z.begin() + end * netG.config.nz), device)
                .to_vector();
        images.insert(images.end(), part.begin(), part.end());
    }
    netG.train(was_training);
    const Shape shape{n, netG.config.nc, netG.config.image_size, netG.config.image_size};
    examples::report(examples::sample_quality(*classifier, real.images, Tensor::from_vector(shape, images)), n, "",
                     in_folder(outf, "metrics.json"));
}

int evaluate(const ToolOptions& o) {
    GANOPS_CHECK(!o.classifier.empty(), "evaluate: --classifier is required (train one with fashion_classifier)");
    const Device device = pick_device(o.device);
    auto netG = load_generator(o.netG, device);
    prepare_folder(o.outf);
    report_sample_quality(*netG, o.classifier, o.eval_dataroot, o.n, o.seed, device, o.outf);
    return 0;
}

int generate(const ToolOptions& o) {
    GANOPS_CHECK(o.n > 0, "--n must be positive");
    const Device device = pick_device(o.device);
    auto netG = load_generator(o.netG, device);
    prepare_folder(o.outf);
    const Tensor images = run_generator(*netG, latents(o.n, netG->config.nz, o.seed), device);
    if (!o.individual) {
        const std::string path = in_folder(o.outf, "generated.png");
        save_image_grid(images, std::max<int64_t>(1, int64_t(std::ceil(std::sqrt(double(o.n))))), path);
        std::printf("%lld images: %s\n", (long long)o.n, path.c_str());
        return 0;
    }
    for (int64_t i = 0; i < o.n; ++i) {
        // A one-image grid without its border is the image itself.
        Image grid = make_grid(images.slice_rows(i, i + 1), 1);
        Image image{grid.width - 4, grid.height - 4, 3, {}};
        for (int64_t y = 0; y < image.height; ++y) {
            const uint8_t* row = grid.pixels.data() + ((y + 2) * grid.width + 2) * 3;
            image.pixels.insert(image.pixels.end(), row, row + image.width * 3);
        }
        char name[64];
        std::snprintf(name, sizeof name, "generated_%04lld.png", (long long)i);
        write_png(in_folder(o.outf, name), image);
    }
    std::printf("%lld images: %s/generated_0000.png ... (named by latent index, for `arithmetic`)\n", (long long)o.n,
                o.outf.c_str());
    return 0;
}

int interpolate(const ToolOptions& o) {
    GANOPS_CHECK(o.rows > 0 && o.steps >= 2, "--rows must be positive and --steps at least 2");
    const Device device = pick_device(o.device);
    auto netG = load_generator(o.netG, device);
    prepare_folder(o.outf);
    const int64_t nz = netG->config.nz;
    const std::vector<float> ends = latents(2 * o.rows, nz, o.seed);  // row r walks from latent 2r to 2r + 1
    std::vector<float> z;
    for (int64_t r = 0; r < o.rows; ++r) {
        const float* a = ends.data() + 2 * r * nz;
        const float* b = a + nz;
        double dot = 0, na = 0, nb = 0;
        for (int64_t k = 0; k < nz; ++k) dot += a[k] * b[k], na += a[k] * a[k], nb += b[k] * b[k];
        const double omega = std::acos(std::clamp(dot / std::sqrt(na * nb), -1.0, 1.0));
        for (int64_t s = 0; s < o.steps; ++s) {
            const double t = double(s) / double(o.steps - 1);
            // Spherical interpolation keeps the norm that Gaussian latents concentrate at.
            double wa = 1 - t, wb = t;
            if (o.slerp && std::sin(omega) > 1e-6) wa = std::sin((1 - t) * omega) / std::sin(omega), wb = std::sin(t * omega) / std::sin(omega);
            for (int64_t k = 0; k < nz; ++k) z.push_back(float(wa * a[k] + wb * b[k]));
        }
    }
    const std::string path = in_folder(o.outf, "interpolation.png");
    save_image_grid(run_generator(*netG, z, device), o.steps, path);
    std::printf("%lld walks of %lld steps (%s): %s\n", (long long)o.rows, (long long)o.steps, o.slerp ? "slerp" : "linear",
                path.c_str());
    return 0;
}

int arithmetic(const ToolOptions& o) {
    const std::vector<std::vector<int64_t>> groups = {parse_indices(o.a, "--a"), parse_indices(o.b, "--b"), parse_indices(o.c, "--c")};
    const Device device = pick_device(o.device);
    auto netG = load_generator(o.netG, device);
    prepare_folder(o.outf);
    const int64_t nz = netG->config.nz;
    int64_t highest = 0, widest = 0;
    for (const auto& g : groups) {
        highest = std::max(highest, *std::max_element(g.begin(), g.end()));
        widest = std::max(widest, int64_t(g.size()));
    }
    const std::vector<float> pool = latents(highest + 1, nz, o.seed);
    // Rows of the input grid: each concept's latents, then their mean (the paper averages three).
    std::vector<float> z, padding_rows;
    std::vector<std::vector<float>> means;
    std::vector<int64_t> blank;  // grid cells without an image
    for (const auto& g : groups) {
        std::vector<float> m(size_t(nz), 0.0f);
        for (const int64_t i : g)
            for (int64_t k = 0; k < nz; ++k) m[size_t(k)] += pool[size_t(i * nz + k)] / float(g.size());
        for (int64_t j = 0; j < widest; ++j) {
            if (j < int64_t(g.size())) {
                z.insert(z.end(), pool.begin() + g[size_t(j)] * nz, pool.begin() + (g[size_t(j)] + 1) * nz);
            } else {
                blank.push_back(int64_t(z.size()) / nz);
                z.insert(z.end(), size_t(nz), 0.0f);
            }
        }
        z.insert(z.end(), m.begin(), m.end());
        means.push_back(m);
    }
    Tensor inputs = run_generator(*netG, z, device);
    for (const int64_t cell : blank) inputs.slice_rows(cell, cell + 1).fill(-1.0);  // black
    const std::string inputs_path = in_folder(o.outf, "arithmetic_inputs.png");
    save_image_grid(inputs, widest + 1, inputs_path);

    // Y = mean(A) - mean(B) + mean(C) in the centre, and eight neighbours with uniform noise
    // of scale 0.25 added, as in the paper's figure 7.
    Generator noise_gen{o.seed + 1, 0};
    const std::vector<float> noise = Tensor::uniform({9, nz}, -0.25, 0.25, noise_gen).to_vector();
    std::vector<float> results;
    for (int64_t cell = 0; cell < 9; ++cell)
        for (int64_t k = 0; k < nz; ++k) {
            const float y = means[0][size_t(k)] - means[1][size_t(k)] + means[2][size_t(k)];
            results.push_back(cell == 4 ? y : y + noise[size_t(cell * nz + k)]);
        }
    const std::string result_path = in_folder(o.outf, "arithmetic_result.png");
    save_image_grid(run_generator(*netG, results, device), 3, result_path);
    std::printf("A - B + C: inputs (each row: the latents, then their mean) %s, result (centre; noisy neighbours) %s\n",
                inputs_path.c_str(), result_path.c_str());
    return 0;
}

}  // namespace dcgan
