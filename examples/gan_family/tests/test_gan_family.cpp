// The GAN-family programs end to end on real Fashion-MNIST with tiny networks: each trains
// a few iterations on the CPU, writes its grids and PyTorch-named weights, and reports the
// sample-quality numbers when given a classifier; bad input gets a message and exit code 1.
#include <cstdio>
#include <filesystem>
#include <string>

#include <ganops/ganops.h>

#include "catch_compat.h"

namespace fs = std::filesystem;

namespace {
struct Run {
    int code;
    std::string output;
};

Run run(const std::string& command) {
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[4096];
    while (size_t got = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string temp_dir(const std::string& name) {
    const fs::path p = fs::temp_directory_path() / ("ganops_family_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

const std::string kTiny = " --max-iters 3 --batchSize 8 --device cpu --sample-every 0 --eval-samples 64";
}  // namespace

TEST_CASE("gan_mlp, cdcgan and infogan train, write grids and weights, and report sample quality") {
    const std::string dir = temp_dir("run");
    // A deliberately weak classifier: the numbers only have to exist and be finite here.
    const Run classifier = run(std::string(FASHION_CLASSIFIER) + " --limit 256 --epochs 1 --width 4 --batchSize 32 --device cpu --out " +
                               dir + "/classifier.safetensors");
    INFO(classifier.output);
    REQUIRE(classifier.code == 0);
    for (const auto& [program, extra] : {std::pair<std::string, std::string>{GAN_MLP, ""},
                                         {CDCGAN, " --imageSize 16 --ngf 4 --ndf 4"},
                                         {INFOGAN, " --imageSize 16 --ngf 4 --ndf 4"}}) {
        const std::string out = dir + "/" + fs::path(program).filename().string();
        const Run r = run(program + kTiny + extra + " --classifier " + dir + "/classifier.safetensors --outf " + out);
        INFO(program << "\n" << r.output);
        REQUIRE(r.code == 0);
        CHECK(r.output.find("[0/1][2/7500] Loss_D:") != std::string::npos);
        CHECK(r.output.find("Frechet distance") != std::string::npos);
        for (const char* file : {"/real_samples.png", "/fake_samples_epoch_000.png", "/netG_epoch_000.safetensors",
                                 "/netD_epoch_000.safetensors", "/metrics.json"})
            CHECK(fs::file_size(out + file) > 0);
    }
    fs::remove_all(dir);
}

TEST_CASE("the grids of cdcgan and infogan have one row per class") {
    const std::string dir = temp_dir("grids");
    for (const std::string& program : {std::string(CDCGAN), std::string(INFOGAN)}) {
        const Run r = run(program + " --max-iters 1 --batchSize 8 --device cpu --imageSize 16 --ngf 4 --ndf 4 --precision bf16 --outf " + dir);
        INFO(r.output);
        REQUIRE(r.code == 0);
        CHECK(r.output.find("--precision bf16 does not apply on the CPU") != std::string::npos);
        // PNG width and height sit at bytes 16..23: 8 columns and 10 rows of 16 + 2 pixels, + 2.
        FILE* f = std::fopen((dir + "/fake_samples_epoch_000.png").c_str(), "rb");
        REQUIRE(f != nullptr);
        unsigned char header[24];
        REQUIRE(std::fread(header, 1, 24, f) == 24);
        std::fclose(f);
        const int width = header[16] << 24 | header[17] << 16 | header[18] << 8 | header[19];
        const int height = header[20] << 24 | header[21] << 16 | header[22] << 8 | header[23];
        CHECK(width == 8 * 18 + 2);
        CHECK(height == 10 * 18 + 2);
    }
    fs::remove_all(dir);
}

TEST_CASE("bad input: a missing dataset and a missing classifier are named, exit code 1") {
    const std::string dir = temp_dir("bad");
    const Run missing = run(std::string(GAN_MLP) + kTiny + " --dataroot /nonexistent --outf " + dir);
    CHECK(missing.code == 1);
    CHECK(missing.output.find("/nonexistent") != std::string::npos);
    const Run no_classifier = run(std::string(CDCGAN) + kTiny + " --imageSize 16 --ngf 4 --ndf 4 --classifier " + dir +
                                  "/none.safetensors --outf " + dir);
    CHECK(no_classifier.code == 1);
    CHECK(no_classifier.output.find("none.safetensors") != std::string::npos);
    const Run bad_precision = run(std::string(GAN_MLP) + kTiny + " --precision fp16 --outf " + dir);
    CHECK(bad_precision.code != 0);
    CHECK(bad_precision.output.find("fp32-accurate") != std::string::npos);  // the choices are listed
    fs::remove_all(dir);
}

TEST_CASE("dcgan_probe reports linear-probe accuracies for a trained and a random discriminator") {
    const std::string dir = temp_dir("probe");
    const Run train = run(std::string(DCGAN_BEDROOM) + " --imageSize 32 --ngf 4 --ndf 4 --batchSize 8 --max-iters 3 --device cpu "
                          "--sample-every 0 --outf " + dir);
    INFO(train.output);
    REQUIRE(train.code == 0);
    const Run probe = run(std::string(DCGAN_PROBE) + " --netD " + dir + "/netD_epoch_000.safetensors --imageSize 32 "
                          "--train-samples 300 --test-samples 200 --epochs 5 --device cpu --out " + dir + "/probe.json");
    INFO(probe.output);
    REQUIRE(probe.code == 0);
    // Even random convolutional features separate Fashion-MNIST far above chance (10%).
    const size_t at = probe.output.find("random D:  linear-probe test accuracy ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(probe.output.substr(at + 38)) > 0.4);
    CHECK(probe.output.find("trained D: linear-probe test accuracy") != std::string::npos);
    CHECK(fs::file_size(dir + "/probe.json") > 0);
    const Run wrong = run(std::string(DCGAN_PROBE) + " --netD " + dir + "/none.safetensors --device cpu");
    CHECK(wrong.code == 1);
    CHECK(wrong.output.find("none.safetensors") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("dcgan_bedroom reports sample quality at the end of training and on a saved generator") {
    const std::string dir = temp_dir("dcgan_eval");
    const Run classifier = run(std::string(FASHION_CLASSIFIER) + " --limit 256 --epochs 1 --width 4 --batchSize 32 --device cpu --out " +
                               dir + "/classifier.safetensors");
    REQUIRE(classifier.code == 0);
    const Run train = run(std::string(DCGAN_BEDROOM) + " --imageSize 32 --ngf 4 --ndf 4 --batchSize 8 --max-iters 3 --device cpu "
                          "--sample-every 0 --eval-samples 50 --classifier " + dir + "/classifier.safetensors --outf " + dir);
    INFO(train.output);
    REQUIRE(train.code == 0);
    CHECK(train.output.find("sample quality over 50 images: Frechet distance") != std::string::npos);
    const Run eval = run(std::string(DCGAN_BEDROOM) + " evaluate --netG " + dir + "/netG_epoch_000.safetensors --classifier " + dir +
                         "/classifier.safetensors --n 40 --device cpu --outf " + dir + "/eval");
    INFO(eval.output);
    REQUIRE(eval.code == 0);
    CHECK(eval.output.find("sample quality over 40 images") != std::string::npos);
    CHECK(fs::file_size(dir + "/eval/metrics.json") > 0);
    fs::remove_all(dir);
}
