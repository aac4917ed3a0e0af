// The README's claim, tested: CPU results are bit-reproducible run to run for a fixed
// OMP_NUM_THREADS. A few DCGAN training steps (convolutions both ways, batch norm, dropout,
// BCE, Adam) run twice in this process, and in two fresh processes with two OpenMP threads,
// must end with the same bits in every parameter and buffer. (The GPU's counterpart is in
// test_cuda_ops.cpp.)
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

using namespace ganops;

namespace {

// Every parameter and buffer of both nets after `steps` DCGAN iterations from fixed seeds.
std::vector<std::pair<std::string, std::vector<float>>> train_steps(Device device, int steps) {
    // Large enough for Eigen to split its matrix products across threads.
    const nn::DcganConfig config{.nz = 16, .ngf = 16, .ndf = 16, .nc = 3, .image_size = 32};
    const int64_t batch = 32;
    manual_seed(2026);
    nn::DcganGenerator g(config);
    nn::DcganDiscriminator d(config);
    Generator init{11, 0};
    nn::dcgan_init(g, init);
    nn::dcgan_init(d, init);
    g.to(device);
    d.to(device);
    nn::Adam opt_g(g.parameters(), {.lr = 2e-3, .beta1 = 0.5});
    nn::Adam opt_d(d.parameters(), {.lr = 2e-3, .beta1 = 0.5});
    Generator data{12, 0}, noise{13, 0}, drop{14, 0};
    const Tensor ones = Tensor::full({batch}, 1.0, DType::F32, device);
    const Tensor zeros = Tensor::zeros({batch}, DType::F32, device);
    for (int it = 0; it < steps; ++it) {
        const Tensor real = Tensor::uniform({batch, 3, 32, 32}, -1, 1, data, DType::F32, device);
        opt_d.zero_grad();
        binary_cross_entropy(d(dropout(real, 0.1, true, drop)), ones).backward();
        const Tensor fake = g(Tensor::normal({batch, 16, 1, 1}, 0, 1, noise, DType::F32, device));
        binary_cross_entropy(d(fake.detach()), zeros).backward();
        opt_d.step();
        opt_g.zero_grad();
        binary_cross_entropy(d(fake), ones).backward();
        opt_g.step();
    }
    std::vector<std::pair<std::string, std::vector<float>>> state;
    for (const auto* net : {static_cast<const nn::Module*>(&g), static_cast<const nn::Module*>(&d)}) {
        for (const auto& [name, p] : net->named_parameters()) state.emplace_back(name, p.to_vector());
        for (const auto& [name, b] : net->named_buffers())
            if (b.dtype() == DType::F32) state.emplace_back(name, b.to_vector());
    }
    return state;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// FNV-1a over the bits of every value, for comparing runs in other processes.
uint64_t fingerprint(const std::vector<std::pair<std::string, std::vector<float>>>& state) {
    uint64_t h = 1469598103934665603ull;
    for (const auto& [name, values] : state) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
        for (size_t i = 0; i < values.size() * sizeof(float); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    }
    return h;
}

// Runs this test program's hidden case below in a new process with `threads` OpenMP
// threads and returns the fingerprint it prints.
std::string fingerprint_in_child(int threads) {
    // This program's path, read here: in the shell popen starts, /proc/self is the shell.
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    // Passive waiting: ctest runs tests side by side, and spinning workers on busy cores
    // would slow the run by orders of magnitude (it changes no result).
    const std::string command = "OMP_NUM_THREADS=" + std::to_string(threads) + " OMP_WAIT_POLICY=PASSIVE '" + self +
                                "' '[determinism_child]' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
    const int status = pclose(pipe);
    INFO(output);
    REQUIRE(status == 0);
    const size_t at = output.find("fingerprint ");
    REQUIRE(at != std::string::npos);
    return output.substr(at + 12, 16);
}

}  // namespace

TEST_CASE("the same CPU training steps give the same bits, run after run") {
    const auto first = train_steps(Device::CPU, 3);
    const auto second = train_steps(Device::CPU, 3);
    REQUIRE(first.size() == second.size());
    for (size_t i = 0; i < first.size(); ++i) {
        INFO(first[i].first);
        CHECK(same_bits(first[i].second, second[i].second));
    }
    // Training moved the weights: the comparison is not between two untouched inits.
    const auto untrained = train_steps(Device::CPU, 0);
    CHECK_FALSE(same_bits(first[0].second, untrained[0].second));
}

TEST_CASE("two processes with two OpenMP threads each train to the same bits") {
    // Found through /proc/self/exe: Linux only, like the rest of the suite.
    const std::string a = fingerprint_in_child(2), b = fingerprint_in_child(2);
    CHECK(a == b);
}

// Run only by the case above, in a child process ("[.]" hides it from a plain run).
TEST_CASE("determinism child: print the fingerprint of three training steps", "[.][determinism_child]") {
    std::printf("fingerprint %016llx\n", static_cast<unsigned long long>(fingerprint(train_steps(Device::CPU, 3))));
    std::fflush(stdout);
}
