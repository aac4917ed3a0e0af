// kill -9 at random moments never leaves an unloadable checkpoint: the program is started
// again and again on the same output folder, each time resuming from what the last one
// left, and killed with SIGKILL after a random delay (the seed is printed, and
// GANOPS_KILL_TEST_SEED repeats a sequence). After each kill every .safetensors file in
// the folder must load, the checkpoint into the models it describes, and the next run
// must resume from it. Epochs of two tiny iterations make checkpoints, epoch weights and
// sample grids be written many times a second, so kills land inside those writes.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <ganops/ganops.h>
#include <ganops/nn/checkpoint.h>

#include "catch_compat.h"
#include "dataset_fixtures.h"

extern char** environ;

using namespace ganops;
namespace fs = std::filesystem;

namespace {
// Starts the program and kills it with SIGKILL after `delay`, unless it ends first.
// Returns the wait status.
int run_and_kill(const std::vector<std::string>& args, std::chrono::milliseconds delay, const std::string& log) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(DCGAN_BINARY));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&files, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, DCGAN_BINARY, &files, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    REQUIRE(rc == 0);
    const auto deadline = std::chrono::steady_clock::now() + delay;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (waitpid(pid, &status, WNOHANG) == pid) return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

nn::DcganConfig tiny() { return {.nz = 8, .ngf = 4, .ndf = 4, .nc = 3, .image_size = 32}; }
}  // namespace

TEST_CASE("kill -9 at random moments never leaves an unloadable checkpoint") {
    const char* fixed = std::getenv("GANOPS_KILL_TEST_SEED");
    const unsigned seed = fixed ? unsigned(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
    INFO("GANOPS_KILL_TEST_SEED=" << seed);
    std::mt19937 random(seed);
    // Start-up (loading the library, opening the data) takes a good part of a second on a
    // busy machine; delays beyond it land in training, checkpoint writes included.
    std::uniform_int_distribution<int> delay_ms(150, 1500);

    const std::string out = fixtures::temp_dir("kill") + "/out";
    const std::string checkpoint = out + "/checkpoint.safetensors";
    const std::string log = fs::path(out).parent_path() / "run.txt";
    int killed = 0, checkpoints_seen = 0;
    int64_t last_iteration = -1;
    for (int round = 0; round < 8; ++round) {
        std::vector<std::string> args = {"--dataset", "fake", "--fake-images", "8", "--batchSize", "4", "--imageSize", "32",
                                         "--ngf", "4", "--ndf", "4", "--nz", "8", "--niter", "100000", "--workers", "1",
                                         "--device", "cpu", "--sample-every", "0", "--outf", out};
        const bool resuming = fs::exists(checkpoint);
        if (resuming) args.insert(args.end(), {"--resume", checkpoint});
        const int delay = delay_ms(random);
        INFO("round " << round << ", killed after " << delay << " ms" << (resuming ? ", resuming" : ""));
        const int status = run_and_kill(args, std::chrono::milliseconds(delay), log);
        // Killed, never exited on its own (an error at start-up would show here, with the log).
        CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
        if (!WIFSIGNALED(status)) FAIL_CHECK(dcgan::read_file(log).size() << " bytes of output; see " << log);
        killed += WIFSIGNALED(status);

        // Every file the program wrote whole is loadable; temporaries are never a .safetensors.
        if (!fs::exists(out)) continue;
        int temporaries = 0;
        for (const auto& entry : fs::directory_iterator(out)) {
            const std::string path = entry.path().string();
            // At most the one this kill interrupted: each run removes those of earlier kills.
            temporaries += path.find(".tmp.") != std::string::npos;
            if (entry.path().extension() != ".safetensors") continue;
            INFO(path);
            const nn::SafetensorsFile file = nn::read_safetensors(path);
            if (entry.path().filename() == "checkpoint.safetensors") {
                nn::DcganGenerator netG(tiny());
                nn::DcganDiscriminator netD(tiny());
                nn::load_state_dict(netG, file, path, "netG.");
                nn::load_state_dict(netD, file, path, "netD.");
                const int64_t iteration = std::stoll(file.metadata.at("iteration"));
                CHECK(iteration >= last_iteration);  // a resumed run never goes back
                last_iteration = iteration;
                ++checkpoints_seen;
            } else if (entry.path().filename().string().rfind("netG_", 0) == 0) {
                nn::DcganGenerator netG(tiny());
                nn::load_state_dict(netG, file, path);
            } else if (entry.path().filename().string().rfind("netD_", 0) == 0) {
                nn::DcganDiscriminator netD(tiny());
                nn::load_state_dict(netD, file, path);
            }
        }
        CHECK(temporaries <= 1);
    }
    CHECK(killed == 8);
    // The delays are long enough for most runs to finish an epoch; a machine so loaded that
    // none did tests nothing, and says so.
    CHECK(checkpoints_seen > 0);
    CHECK(last_iteration > 0);
    fs::remove_all(fs::path(out).parent_path());
}
