// dcgan_bedroom --distributed under `mpirun -np 2` (ctest: dcgan_distributed, label mpi):
// two ranks with global batch B train as one process with batch B, a checkpoint resumes
// with another rank count, and a global batch the ranks cannot share is a clear error.
//
// Tolerance: with --sync-bn the two-rank run differs from the one-process run only in
// summation order (gradients averaged over two shard means, batchnorm statistics combined
// from shards). After 4 Adam steps of the tiny DCGAN every saved tensor (weights, running
// statistics, Adam's moments) agrees to a relative error of 1e-4; measured: 6e-7.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include <ganops/ganops.h>
#include <ganops/nn/checkpoint.h>

#include "catch_compat.h"
#include "dataset_fixtures.h"

using namespace ganops;
namespace fs = std::filesystem;

namespace {

const std::string kArgs = " --dataset fake --fake-images 64 --imageSize 32 --ngf 4 --ndf 4 --nz 8 --workers 1"
                          " --device cpu --sample-every 0";

// Runs dcgan_bedroom as one process (ranks 0) or under mpirun with `ranks` processes.
fixtures::Run run(int ranks, const std::string& args, int batch_size = 8) {
    const std::string log = (fs::temp_directory_path() / ("dcgan_dist_run_" + std::to_string(::getpid()) + ".txt")).string();
    const std::string launcher = ranks > 0 ? std::string(MPIEXEC) + " -np " + std::to_string(ranks) + " " : "";
    const std::string command = launcher + DCGAN_BINARY + kArgs + " --batchSize " + std::to_string(batch_size) + " " + args + " > " + log + " 2>&1";
    const int status = std::system(command.c_str());
    fixtures::Run r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(log);
    r.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    fs::remove(log);
    return r;
}

std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream in(line);
    for (std::string f; std::getline(in, f, ',');) out.push_back(f);
    return out;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Every float32 tensor of two checkpoints: the largest ||a - b|| / ||b||.
double worst_rel_error(const std::string& a_path, const std::string& b_path) {
    const nn::SafetensorsFile a = nn::read_safetensors(a_path), b = nn::read_safetensors(b_path);
    double worst = 0;
    int compared = 0;
    for (const auto& [name, sa] : a.tensors) {
        if (sa.dtype != "F32" || name.rfind("history.", 0) == 0) continue;
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
    CHECK(compared > 20);
    return worst;
}

}  // namespace

TEST_CASE("two ranks with --sync-bn train as one process with the same global batch; only rank 0 writes") {
    const std::string one = fixtures::temp_dir("dist_one"), two = fixtures::temp_dir("dist_two");
    const fixtures::Run single = run(0, "--max-iters 4 --outf " + one);
    INFO(single.output);
    REQUIRE(single.code == 0);
    const fixtures::Run pair = run(2, "--distributed --sync-bn --max-iters 4 --outf " + two);
    INFO(pair.output);
    REQUIRE(pair.code == 0);
    CHECK(pair.output.find("distributed: 2 ranks over MPI, 4 images per rank") != std::string::npos);
    CHECK(count(pair.output, "Loss_D:") == 4);  // rank 0's lines only
    CHECK(count(pair.output, "done: 4 iterations") == 1);
    const double err = worst_rel_error(two + "/checkpoint.safetensors", one + "/checkpoint.safetensors");
    CHECK(err < 1e-4);
    CHECK(err > 0);  // two processes really ran: summation order differs somewhere
    // The same losses in the logs (global batch means).
    std::ifstream la(one + "/log.csv"), lb(two + "/log.csv");
    std::string a, b;
    std::getline(la, a), std::getline(lb, b);
    for (int i = 0; i < 4; ++i) {
        REQUIRE(std::getline(la, a));
        REQUIRE(std::getline(lb, b));
        // epoch,batch,iteration,loss_d,loss_g,d_x,d_g_z1,d_g_z2,...
        const std::vector<std::string> fa = fields(a), fb = fields(b);
        REQUIRE(fa.size() >= 8);
        REQUIRE(fb.size() == fa.size());
        for (size_t k = 0; k < 8; ++k) CHECK(std::stod(fb[k]) == Approx(std::stod(fa[k])).epsilon(1e-4));
    }
    // Per-replica batchnorm (the default) normalises each rank's 4 images alone: another run.
    const std::string own = fixtures::temp_dir("dist_own");
    REQUIRE(run(2, "--distributed --max-iters 4 --outf " + own).code == 0);
    CHECK(worst_rel_error(own + "/checkpoint.safetensors", one + "/checkpoint.safetensors") > 1e-3);
    for (const std::string& d : {one, two, own}) fs::remove_all(d);
}

TEST_CASE("a checkpoint of two ranks resumes in one process, and one of one process in two ranks") {
    const std::string straight = fixtures::temp_dir("dist_straight"), split = fixtures::temp_dir("dist_split"),
                      back = fixtures::temp_dir("dist_back");
    REQUIRE(run(0, "--max-iters 6 --outf " + straight).code == 0);
    REQUIRE(run(2, "--distributed --sync-bn --max-iters 3 --outf " + split).code == 0);
    const fixtures::Run resumed = run(0, "--max-iters 6 --resume " + split + "/checkpoint.safetensors --outf " + split);
    INFO(resumed.output);
    REQUIRE(resumed.code == 0);
    CHECK(worst_rel_error(split + "/checkpoint.safetensors", straight + "/checkpoint.safetensors") < 1e-4);
    REQUIRE(run(0, "--max-iters 3 --outf " + back).code == 0);
    const fixtures::Run forward =
        run(2, "--distributed --sync-bn --max-iters 6 --resume " + back + "/checkpoint.safetensors --outf " + back);
    INFO(forward.output);
    REQUIRE(forward.code == 0);
    CHECK(worst_rel_error(back + "/checkpoint.safetensors", straight + "/checkpoint.safetensors") < 1e-4);
    for (const std::string& d : {straight, split, back}) fs::remove_all(d);
}

TEST_CASE("a global batch the ranks cannot share is an error naming the rank, on every rank") {
    const std::string out = fixtures::temp_dir("dist_bad");
    const fixtures::Run r = run(2, "--distributed --max-iters 1 --outf " + out, 7);
    INFO(r.output);
    CHECK(r.code != 0);
    CHECK(r.output.find("--batchSize 7 does not split evenly over 2 ranks") != std::string::npos);
    CHECK(r.output.find("dcgan: rank ") != std::string::npos);
    const fixtures::Run no_flag = run(0, "--sync-bn --max-iters 1 --outf " + out);
    CHECK(no_flag.code == 1);
    CHECK(no_flag.output.find("--sync-bn needs --distributed") != std::string::npos);
    fs::remove_all(out);
}

// The step's random draws are made for the global batch and sliced, feature matching
// averages over the ranks, and the logged numbers are all-reduced: with every trick that
// draws (all but dropout, whose masks are drawn per rank) two ranks log what one process logs.
TEST_CASE("two ranks with label flipping, instance noise, feature matching and --d-steps log as one process") {
    const std::string one = fixtures::temp_dir("dist_tricks_one"), two = fixtures::temp_dir("dist_tricks_two");
    const std::string tricks = " --max-iters 4 --label-flip 0.2 --instance-noise 0.1 --feature-matching --d-steps 2";
    REQUIRE(run(0, tricks + " --outf " + one).code == 0);
    const fixtures::Run pair = run(2, "--distributed --sync-bn" + tricks + " --outf " + two);
    INFO(pair.output);
    REQUIRE(pair.code == 0);
    std::ifstream la(one + "/log.csv"), lb(two + "/log.csv");
    std::string a, b;
    int rows = 0;
    while (std::getline(la, a)) {
        REQUIRE(std::getline(lb, b));
        const std::vector<std::string> fa = fields(a), fb = fields(b);
        REQUIRE(fb.size() == fa.size());
        if (rows++ == 0) continue;  // the header
        for (size_t k = 3; k < 8; ++k)  // losses and D's outputs (empty where G did not step)
            if (!fa[k].empty()) CHECK(std::stod(fb[k]) == Approx(std::stod(fa[k])).epsilon(1e-4));
        CHECK(fa[4].empty() == fb[4].empty());
    }
    CHECK(rows == 5);
    CHECK(worst_rel_error(two + "/checkpoint.safetensors", one + "/checkpoint.safetensors") < 1e-4);
    fs::remove_all(one);
    fs::remove_all(two);
}

TEST_CASE("a diverging run stops every rank at the same iteration with exit code 3 and one message") {
    const std::string out = fixtures::temp_dir("dist_diverge");
    const fixtures::Run r = run(2, "--distributed --max-iters 8 --lr 1e30 --outf " + out);
    INFO(r.output);
    CHECK(r.code == 3);
    CHECK(count(r.output, "training has diverged") == 1);  // rank 0's message only
    CHECK(r.output.find("dcgan: stopping at iteration 0 ") != std::string::npos);
    fs::remove_all(out);
}
