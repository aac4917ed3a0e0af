// The GAN family's loop with --distributed under `mpirun -np 2` (ctest: gan_family_distributed,
// label mpi): two ranks with global batch B train as one process with batch B, on Fashion-MNIST
// with tiny networks, and rank 0 alone prints and writes.
//
// Tolerance: as in dcgan_distributed, with --sync-bn (and without batchnorm or dropout) the
// two-rank run differs from the one-process run only in summation order; after 3 Adam steps
// every weight tensor agrees to a relative error of 1e-4.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include <ganops/ganops.h>
#include <ganops/nn/checkpoint.h>

#include "catch_compat.h"

using namespace ganops;
namespace fs = std::filesystem;

namespace {

const std::string kTiny = " --max-iters 3 --device cpu --sample-every 0 --nz 8";

struct Run {
    int code = -1;
    std::string output;  // stdout and stderr
};

std::string temp_dir(const std::string& name) {
    const fs::path p = fs::temp_directory_path() / ("ganops_family_dist_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

// `program` as one process (ranks 0) or under mpirun with `ranks` processes.
Run run(int ranks, const std::string& program, const std::string& args) {
    const std::string log = (fs::temp_directory_path() / ("gan_family_dist_" + std::to_string(::getpid()) + ".txt")).string();
    const std::string launcher = ranks > 0 ? std::string(MPIEXEC) + " -np " + std::to_string(ranks) + " " : "";
    const std::string command = launcher + program + kTiny + " " + args + " > " + log + " 2>&1";
    const int status = std::system(command.c_str());
    Run r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(log);
    r.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    fs::remove(log);
    return r;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Every float32 tensor of two weight files: the largest ||a - b|| / ||b||.
double worst_rel_error(const std::string& a_path, const std::string& b_path) {
    const nn::SafetensorsFile a = nn::read_safetensors(a_path), b = nn::read_safetensors(b_path);
    double worst = 0;
    int compared = 0;
    for (const auto& [name, sa] : a.tensors) {
        if (sa.dtype != "F32") continue;
        const nn::StoredTensor* sb = b.find(name);
        REQUIRE(sb);
        const std::vector<double> x = nn::tensor_from_stored(sa, DType::F64).to_double_vector(),
                                  y = nn::tensor_from_stored(*sb, DType::F64).to_double_vector();
        REQUIRE(x.size() == y.size());
        double num = 0, den = 0;
        for (size_t i = 0; i < x.size(); ++i) num += (x[i] - y[i]) * (x[i] - y[i]), den += y[i] * y[i];
        worst = std::max(worst, std::sqrt(num / std::max(den, 1e-30)));
        ++compared;
    }
    CHECK(compared >= 4);
    return worst;
}

// Two ranks against one process: the same logged numbers, the same weights up to summation
// order; returns the worst relative error of the two runs' weights. `dist_args` go to the
// two-rank run only.
double two_ranks_against_one(const std::string& program, const std::string& args, const std::string& dist_args,
                             const std::string& name) {
    const std::string one = temp_dir(name + "_one"), two = temp_dir(name + "_two");
    const Run single = run(0, program, args + " --outf " + one);
    INFO(single.output);
    REQUIRE(single.code == 0);
    const Run pair = run(2, program, args + " --distributed " + dist_args + " --outf " + two);
    INFO(pair.output);
    REQUIRE(pair.code == 0);
    CHECK(pair.output.find("distributed: 2 ranks over MPI, 4 images per rank of each batch of 8") != std::string::npos);
    CHECK(count(pair.output, "Loss_D:") == 3);  // rank 0's lines only
    CHECK(count(pair.output, "done: 3 iterations") == 1);
    double worst = 0;
    for (const std::string stem : {"netG", "netD"})
        worst = std::max(worst, worst_rel_error(two + "/" + stem + "_epoch_000.safetensors", one + "/" + stem + "_epoch_000.safetensors"));
    std::printf("%s %s: two ranks against one process, worst relative error of a weight tensor %.2g\n", name.c_str(),
                dist_args.c_str(), worst);
    fs::remove_all(one);
    fs::remove_all(two);
    return worst;
}

}  // namespace

TEST_CASE("cdcgan and infogan with --sync-bn, and gan_mlp without dropout, train on two ranks as one process") {
    const std::string conv = "--batchSize 8 --imageSize 16 --ngf 4 --ndf 4";
    CHECK(two_ranks_against_one(CDCGAN, conv, "--sync-bn", "cdcgan") < 1e-4);
    CHECK(two_ranks_against_one(INFOGAN, conv, "--sync-bn", "infogan") < 1e-4);
    CHECK(two_ranks_against_one(GAN_MLP, "--batchSize 8 --dropout 0", "", "gan_mlp") < 1e-4);
    // Per-replica batchnorm (the default) normalises each rank's 4 images alone: not one process.
    CHECK(two_ranks_against_one(CDCGAN, conv, "", "cdcgan_own") > 1e-3);
}

TEST_CASE("the GAN family's distributed errors: a batch the ranks cannot share, --sync-bn alone or without batchnorm") {
    const std::string out = temp_dir("gan_family_dist_bad");
    const Run odd = run(2, CDCGAN, "--batchSize 7 --imageSize 16 --ngf 4 --ndf 4 --distributed --outf " + out);
    INFO(odd.output);
    CHECK(odd.code != 0);
    CHECK(odd.output.find("--batchSize 7 does not split evenly over 2 ranks") != std::string::npos);
    CHECK(odd.output.find("cdcgan: rank ") != std::string::npos);
    const Run alone = run(0, CDCGAN, "--batchSize 8 --imageSize 16 --ngf 4 --ndf 4 --sync-bn --outf " + out);
    CHECK(alone.code == 1);
    CHECK(alone.output.find("cdcgan: --sync-bn needs --distributed") != std::string::npos);
    const Run mlp = run(0, GAN_MLP, "--batchSize 8 --distributed --sync-bn --outf " + out);
    CHECK(mlp.code != 0);
    CHECK(mlp.output.find("--sync-bn") != std::string::npos);
    fs::remove_all(out);
}
