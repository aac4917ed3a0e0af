// The README's claim, tested: CPU results are bit-reproducible run to run, whatever the
// number of threads. A few DCGAN training steps (convolutions both ways, batch norm, dropout,
// BCE, Adam) run twice in this process, and in fresh processes with one and two threads,
// must end with the same bits in every parameter and buffer. (The GPU's counterpart is in
// test_cuda_ops.cpp.)
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dcgan_steps.h"
#include "test_util.h"

using namespace ganops;

namespace {

// Large enough for the CPU kernels to split their work over several tasks.
test::TrainingState train_steps(Device device, int steps) { return test::dcgan_training_state(device, steps, 16, 32); }

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// FNV-1a over the bits of every value, for comparing runs in other processes.
uint64_t fingerprint(const test::TrainingState& state) {
    uint64_t h = 1469598103934665603ull;
    for (const auto& [name, values] : state) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
        for (size_t i = 0; i < values.size() * sizeof(float); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    }
    return h;
}

// Runs this test program's hidden case below in a new process with `threads` threads
// (core/thread_pool.h) and returns the fingerprint it prints.
std::string fingerprint_in_child(int threads) {
    // This program's path, read here: in the shell popen starts, /proc/self is the shell.
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string command = "GANOPS_NUM_THREADS=" + std::to_string(threads) + " '" + self +
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

TEST_CASE("processes with one and two threads train to the same bits") {
    // Found through /proc/self/exe: Linux only, like the rest of the suite.
    const std::string a = fingerprint_in_child(2), b = fingerprint_in_child(2), one = fingerprint_in_child(1);
    CHECK(a == b);
    CHECK(a == one);
}

// Run only by the case above, in a child process ("[.]" hides it from a plain run).
TEST_CASE("determinism child: print the fingerprint of three training steps", "[.][determinism_child]") {
    std::printf("fingerprint %016llx\n", static_cast<unsigned long long>(fingerprint(train_steps(Device::CPU, 3))));
    std::fflush(stdout);
}
