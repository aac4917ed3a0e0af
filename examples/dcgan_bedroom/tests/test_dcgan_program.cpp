// The dcgan_bedroom binary end to end, with tiny settings: a short training run and its
// outputs, resume equivalence bit for bit, Ctrl-C, the tools, and every kind of bad input.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <ganops/ganops.h>
#include <ganops/nn/checkpoint.h>

#include "catch_compat.h"
#include "dataset_fixtures.h"
#include "image.h"

using namespace ganops;
using fixtures::run_program;
namespace fs = std::filesystem;

namespace {

const std::string kTiny = " --imageSize 32 --ngf 4 --ndf 4 --nz 8 --batchSize 4 --workers 2 --device cpu --sample-every 0";

// A folder of 16 colour images (4 batches of 4), shared by the tests of this file.
const std::string& image_folder() {
    static const std::string dir = [] {
        const std::string d = fixtures::temp_dir("program_images");
        for (int i = 0; i < 16; ++i) {
            char name[32];
            std::snprintf(name, sizeof name, "/img%02d.png", i);
            fixtures::write_bytes(d + name, dcgan::encode_png(fixtures::pattern(40, 36, 3, 13 * i)));
        }
        return d;
    }();
    return dir;
}

std::string data_args() { return " --dataset folder --dataroot " + image_folder() + kTiny; }

dcgan::Image read_png(const std::string& path) {
    const std::vector<uint8_t> bytes = dcgan::read_file(path);
    return dcgan::decode_image(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> bytes_of(const std::string& path) { return dcgan::read_file(path); }

bool varies(const dcgan::Image& image) {
    return std::any_of(image.pixels.begin(), image.pixels.end(), [&](uint8_t v) { return v != image.pixels[0]; });
}

}  // namespace

TEST_CASE("a short CPU run writes sample grids, the log, the loss plot and loadable checkpoints") {
    const std::string out = fixtures::temp_dir("e2e");
    const auto run = run_program(data_args() + " --niter 2 --outf " + out);
    INFO(run.output);
    REQUIRE(run.code == 0);
    CHECK(run.output.find("Loss_D:") != std::string::npos);
    CHECK(run.output.find("[1/2][3/4]") != std::string::npos);

    const dcgan::Image real = read_png(out + "/real_samples.png");
    CHECK(real.width == 4 * 34 + 2);  // 4 images of 32 with 2-pixel borders
    CHECK(real.height == 36);
    CHECK(varies(real));
    for (const char* name : {"/fake_samples_epoch_000.png", "/fake_samples_epoch_001.png"}) {
        const dcgan::Image fake = read_png(out + name);
        CHECK(fake.width == 138);
        CHECK(varies(fake));
    }
    const dcgan::Image plot = read_png(out + "/loss_curves.png");
    CHECK(plot.width == 800);
    CHECK(plot.height == 400);

    std::ifstream log(out + "/log.csv");
    std::string line;
    int lines = 0;
    std::getline(log, line);
    CHECK(line.rfind("epoch,batch,iteration,loss_d", 0) == 0);
    while (std::getline(log, line)) ++lines;
    CHECK(lines == 8);

    // The epoch file is a plain PyTorch state dict: it loads strictly into the same model.
    nn::DcganGenerator netG({.nz = 8, .ngf = 4, .ndf = 4, .nc = 3, .image_size = 32});
    const nn::SafetensorsFile g = nn::read_safetensors(out + "/netG_epoch_001.safetensors");
    CHECK(g.metadata.at("format") == "pt");
    REQUIRE(g.find("main.1.num_batches_tracked"));
    CHECK(nn::i64_scalar_from_stored(*g.find("main.1.num_batches_tracked"), "nbt") == 8);  // one G forward an iteration
    nn::load_state_dict(netG, g, "netG_epoch_001");
    CHECK(netG.main->operator[](1).named_buffers().size() == 2);
    nn::DcganDiscriminator netD({.nz = 8, .ngf = 4, .ndf = 4, .nc = 3, .image_size = 32});
    nn::load_state_dict(netD, out + "/netD_epoch_001.safetensors");
    // D runs three times an iteration: real, fake for D, fake for G.
    CHECK(dynamic_cast<nn::BatchNorm2d&>((*netD.main)[3]).num_batches_tracked == 24);
    const nn::SafetensorsFile ck = nn::read_safetensors(out + "/checkpoint.safetensors");
    CHECK(ck.metadata.at("epoch") == "2");
    CHECK(ck.metadata.at("iteration") == "8");
    CHECK(ck.metadata.at("optG.step") == "8");
    CHECK(ck.find("history.loss_d")->shape == std::vector<int64_t>{8});
    fs::remove_all(out);
}

TEST_CASE("resume: N iterations, stop, N more equals 2N straight, bit for bit") {
    for (const std::string& tricks : {std::string(""), std::string(" --label-smoothing 0.1 --label-flip 0.2 --instance-noise 0.1 --d-dropout 0.3 --d-steps 2")}) {
        INFO("options:" << tricks);
        const std::string a = fixtures::temp_dir("resume_a"), b = fixtures::temp_dir("resume_b");
        // 6 iterations over epochs of 4 batches: the stop at 3 is mid-epoch, the end in epoch 1.
        const auto straight = run_program(data_args() + tricks + " --niter 3 --max-iters 6 --outf " + a);
        INFO(straight.output);
        REQUIRE(straight.code == 0);
        const auto first = run_program(data_args() + tricks + " --niter 3 --max-iters 3 --outf " + b);
        REQUIRE(first.code == 0);
        const auto second = run_program(data_args() + tricks + " --niter 3 --max-iters 6 --outf " + b +
                                        " --resume " + b + "/checkpoint.safetensors");
        INFO(second.output);
        REQUIRE(second.code == 0);
        CHECK(second.output.find("resuming") != std::string::npos);
        const std::vector<uint8_t> x = bytes_of(a + "/checkpoint.safetensors"), y = bytes_of(b + "/checkpoint.safetensors");
        CHECK(x.size() > 10000);
        CHECK(x == y);
        CHECK(bytes_of(a + "/netG_epoch_001.safetensors") == bytes_of(b + "/netG_epoch_001.safetensors"));
        // And the run did move: the checkpoint after 3 iterations differs from the one after 6.
        const auto third = run_program(data_args() + tricks + " --niter 3 --max-iters 3 --outf " + b);
        CHECK(bytes_of(b + "/checkpoint.safetensors") != x);
        fs::remove_all(a);
        fs::remove_all(b);
    }
}

TEST_CASE("--precision: checked, reported as not applying on the CPU, and kept by a resumed run") {
    const std::string out = fixtures::temp_dir("precision");
    const auto bad = run_program(data_args() + " --max-iters 1 --precision fp16 --outf " + out);
    INFO(bad.output);
    CHECK(bad.code != 0);
    CHECK(bad.output.find("fp16") != std::string::npos);
    CHECK(bad.output.find("fp32-accurate") != std::string::npos);  // the choices are listed

    const auto run = run_program(data_args() + " --max-iters 2 --precision bf16 --outf " + out);
    INFO(run.output);
    REQUIRE(run.code == 0);
    CHECK(run.output.find("--precision bf16 does not apply on the CPU") != std::string::npos);
    CHECK(nn::read_safetensors(out + "/checkpoint.safetensors").metadata.at("precision") == "bf16");
    // Resumed without --precision: the run's own mode; with one: the new mode, said so.
    const std::string resume = " --resume " + out + "/checkpoint.safetensors --outf " + out;
    REQUIRE(run_program(data_args() + " --max-iters 3" + resume).code == 0);
    CHECK(nn::read_safetensors(out + "/checkpoint.safetensors").metadata.at("precision") == "bf16");
    const auto changed = run_program(data_args() + " --max-iters 4 --precision fp32-accurate" + resume);
    INFO(changed.output);
    REQUIRE(changed.code == 0);
    CHECK(changed.output.find("precision: fp32-accurate (the resumed run used bf16)") != std::string::npos);
    CHECK(nn::read_safetensors(out + "/checkpoint.safetensors").metadata.at("precision") == "fp32-accurate");
    // A fresh run without the flag records the GPU default.
    const std::string fresh = fixtures::temp_dir("precision_default");
    REQUIRE(run_program(data_args() + " --max-iters 1 --outf " + fresh).code == 0);
    CHECK(nn::read_safetensors(fresh + "/checkpoint.safetensors").metadata.at("precision") == "tf32");
    fs::remove_all(out);
    fs::remove_all(fresh);
}

TEST_CASE("Ctrl-C writes a checkpoint that resumes") {
    const std::string out = fixtures::temp_dir("interrupt");
    const std::string command = std::string(DCGAN_BINARY) + " --dataset fake --fake-images 400000" + kTiny + " --outf " + out +
                                " > " + out + "/run.txt 2>&1 & pid=$!; sleep 1.5; kill -INT $pid; wait $pid; echo $? > " + out + "/code.txt";
    REQUIRE(std::system(command.c_str()) == 0);
    std::ifstream code_file(out + "/code.txt");
    int code = 0;
    code_file >> code;
    std::ifstream run_file(out + "/run.txt");
    const std::string output((std::istreambuf_iterator<char>(run_file)), std::istreambuf_iterator<char>());
    INFO(output);
    CHECK(code == 130);
    CHECK(output.find("interrupted; checkpoint written") != std::string::npos);
    const nn::SafetensorsFile ck = nn::read_safetensors(out + "/checkpoint.safetensors");
    const int64_t done = std::stoll(ck.metadata.at("iteration"));
    CHECK(done > 0);
    const auto resumed = run_program("--dataset fake --fake-images 400000" + kTiny + " --outf " + out + " --resume " + out +
                                     "/checkpoint.safetensors --max-iters " + std::to_string(done + 2));
    INFO(resumed.output);
    CHECK(resumed.code == 0);
    CHECK(nn::read_safetensors(out + "/checkpoint.safetensors").metadata.at("iteration") == std::to_string(done + 2));
    fs::remove_all(out);
}

TEST_CASE("image sizes 64 to 256 and one channel build and train") {
    const std::string out = fixtures::temp_dir("sizes");
    for (const char* size : {"64", "128", "256"}) {
        const auto run = run_program(std::string("--dataset fake --imageSize ") + size +
                                     " --ngf 2 --ndf 2 --nz 4 --batchSize 2 --dry-run --device cpu --outf " + out);
        INFO(run.output);
        CHECK(run.code == 0);
        CHECK(read_png(out + "/fake_samples_epoch_000.png").width == 2 * (std::stoi(size) + 2) + 2);
    }
    const auto grey = run_program(data_args() + " --nc 1 --max-iters 1 --outf " + out);
    INFO(grey.output);
    CHECK(grey.code == 0);
    CHECK(grey.output.find("1x32x32") != std::string::npos);
    fs::remove_all(out);
}

TEST_CASE("tools: generate, interpolate and arithmetic on a trained generator") {
    const std::string out = fixtures::temp_dir("tools");
    REQUIRE(run_program(data_args() + " --max-iters 2 --outf " + out).code == 0);
    const std::string netG = out + "/netG_epoch_000.safetensors";
    auto run = run_program("generate --netG " + netG + " --n 4 --device cpu --outf " + out + "/gen");
    INFO(run.output);
    REQUIRE(run.code == 0);
    CHECK(run.output.find("nz 8, ngf 4, 3 channel(s), 32x32") != std::string::npos);
    CHECK(read_png(out + "/gen/generated.png").width == 2 * 34 + 2);
    run = run_program("generate --netG " + out + "/checkpoint.safetensors --n 3 --individual --device cpu --outf " + out + "/one");
    REQUIRE(run.code == 0);
    const dcgan::Image single = read_png(out + "/one/generated_0002.png");
    CHECK(single.width == 32);
    CHECK(varies(single));
    run = run_program("interpolate --netG " + netG + " --rows 2 --steps 3 --device cpu --outf " + out);
    REQUIRE(run.code == 0);
    const dcgan::Image walk = read_png(out + "/interpolation.png");
    CHECK(walk.width == 3 * 34 + 2);
    CHECK(walk.height == 2 * 34 + 2);
    run = run_program("arithmetic --netG " + netG + " --a 0,1,2 --b 3,4,5 --c 6,7 --device cpu --outf " + out);
    INFO(run.output);
    REQUIRE(run.code == 0);
    CHECK(read_png(out + "/arithmetic_inputs.png").width == 4 * 34 + 2);
    CHECK(read_png(out + "/arithmetic_result.png").width == 3 * 34 + 2);
    run = run_program("arithmetic --netG " + netG + " --a 0,x --b 1 --c 2 --device cpu --outf " + out);
    CHECK(run.code == 1);
    CHECK(run.output.find("not a latent index") != std::string::npos);
    fs::remove_all(out);
}

TEST_CASE("bad input: clear messages and non-zero exits") {
    const std::string dir = fixtures::temp_dir("bad");
    auto expect_failure = [](const std::string& args, int code, const std::string& message) {
        const auto run = run_program(args);
        INFO(args << "\n" << run.output);
        CHECK(run.code == code);
        CHECK(run.output.find(message) != std::string::npos);
    };
    expect_failure("--dataset folder --dataroot " + dir + "/missing" + kTiny + " --outf " + dir + "/o", 1, "does not exist");
    fs::create_directories(dir + "/empty");
    expect_failure("--dataset folder --dataroot " + dir + "/empty" + kTiny + " --outf " + dir + "/o", 1, "holds no");
    expect_failure("--dataset fashion-mnist --dataroot " + dir + "/empty" + kTiny + " --outf " + dir + "/o", 1,
                   "train-images-idx3-ubyte");
    fs::create_directories(dir + "/bedroom_train_lmdb");
    fixtures::write_bytes(dir + "/bedroom_train_lmdb/data.mdb", std::vector<uint8_t>(8192, 0x5A));
    expect_failure("--dataset lsun --dataroot " + dir + kTiny + " --outf " + dir + "/o", 1, "not an LMDB database");
    fs::create_directories(dir + "/three");
    for (int i = 0; i < 3; ++i)
        fixtures::write_bytes(dir + "/three/" + std::to_string(i) + ".png", dcgan::encode_png(fixtures::pattern(8, 8, 3)));
    expect_failure("--dataset folder --dataroot " + dir + "/three" + kTiny + " --outf " + dir + "/o", 1, "fewer than one batch");

    // Unwritable output: a path below a regular file (fails for root too).
    fixtures::write_bytes(dir + "/file", {'x'});
    expect_failure(data_args() + " --outf " + dir + "/file/out", 1, "cannot create the output folder");

    // Checkpoints: wrong shape, corrupt, not ours.
    REQUIRE(run_program(data_args() + " --max-iters 2 --outf " + dir + "/good").code == 0);
    const std::string netG = dir + "/good/netG_epoch_000.safetensors";
    expect_failure("--dataset folder --dataroot " + image_folder() + " --imageSize 32 --ngf 8 --ndf 4 --nz 8 --batchSize 4 --device cpu --max-iters 1 --netG " + netG + " --outf " + dir + "/o", 1,
                   "\"main.0.weight\" has shape [8, 16, 4, 4] but the model expects [8, 32, 4, 4]");
    std::vector<uint8_t> cut = bytes_of(netG);
    cut.resize(cut.size() - 100);
    fixtures::write_bytes(dir + "/cut.safetensors", cut);
    expect_failure(data_args() + " --max-iters 1 --netG " + dir + "/cut.safetensors --outf " + dir + "/o", 1, "cut.safetensors");
    expect_failure(data_args() + " --max-iters 1 --resume " + netG + " --outf " + dir + "/o", 1, "not a dcgan_bedroom checkpoint");
    expect_failure(data_args() + " --max-iters 1 --netD " + netG + " --outf " + dir + "/o", 1,
                   "\"main.0.weight\" has shape [8, 16, 4, 4] but the model expects [4, 3, 4, 4]");

    // Unreadable images are skipped, counted and named.
    fs::create_directories(dir + "/mixed");
    for (int i = 0; i < 8; ++i)
        fixtures::write_bytes(dir + "/mixed/" + std::to_string(i) + ".png", dcgan::encode_png(fixtures::pattern(36, 36, 3, i)));
    fixtures::write_bytes(dir + "/mixed/broken.jpg", {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F'});
    fixtures::write_bytes(dir + "/mixed/empty.webp", {});
    const auto mixed = run_program("--dataset folder --dataroot " + dir + "/mixed" + kTiny + " --outf " + dir + "/m");
    INFO(mixed.output);
    CHECK(mixed.code == 0);
    CHECK(mixed.output.find("skipping an unreadable image: " + dir + "/mixed/broken.jpg") != std::string::npos);
    CHECK(mixed.output.find("2 unreadable images were skipped") != std::string::npos);

    // A diverging run stops with a message and leaves the last good checkpoint alone.
    const std::vector<uint8_t> before = bytes_of(dir + "/good/checkpoint.safetensors");
    expect_failure(data_args() + " --niter 5 --lr 1e38 --resume " + dir + "/good/checkpoint.safetensors --outf " + dir + "/good", 3,
                   "is not finite, training has diverged");
    CHECK(bytes_of(dir + "/good/checkpoint.safetensors") == before);
    fs::remove_all(dir);
}

TEST_CASE("absurd sizes and non-finite weights: clear messages, no crash") {
    const std::string dir = fixtures::temp_dir("absurd");
    auto expect_failure = [](const std::string& args, const std::string& message) {
        const auto run = run_program(args);
        INFO(args << "\n" << run.output);
        CHECK(run.code != 0);
        CHECK(run.code < 128);  // an error exit, not a signal
        CHECK(run.output.find(message) != std::string::npos);
    };
    const std::string fake = " --dataset fake --device cpu --imageSize 32 --max-iters 1 --outf " + dir + "/o";
    // ngf = 2^61 once surfaced as a negative channel count; nz = 2^62 as a shape that wrapped.
    expect_failure(fake + " --ngf 2305843009213693952", "DcganGenerator: the widest layer for image_size 32");
    expect_failure(fake + " --ndf 2305843009213693952 --ngf 4", "the widest layer for image_size 32 (ngf or ndf times 4)");
    expect_failure(fake + " --ngf 4 --ndf 4 --nz 4611686018427387904", "shape [4611686018427387904, 16, 4, 4] has an extent above 2^60");
    expect_failure(fake + " --ngf 4 --ndf 4 --batchSize 4611686018427387904", "--batchSize x 20 fake images");
    expect_failure(fake + " --fake-images 100000000000", "--fake-images");

    // Weights holding a NaN: refused at load, naming the tensor and the file.
    REQUIRE(run_program(data_args() + " --max-iters 1 --outf " + dir + "/good").code == 0);
    nn::SafetensorsFile g = nn::read_safetensors(dir + "/good/netG_epoch_000.safetensors");
    REQUIRE(g.tensors.size() > 2);
    float nan = std::nanf("");
    std::memcpy(g.tensors[2].second.bytes.data() + 4, &nan, 4);
    nn::write_safetensors(dir + "/nan.safetensors", g.tensors, g.metadata);
    expect_failure(data_args() + " --max-iters 1 --netG " + dir + "/nan.safetensors --outf " + dir + "/o",
                   dir + "/nan.safetensors: tensor \"" + g.tensors[2].first + "\" holds NaN at element 1");
    fs::remove_all(dir);
}

TEST_CASE("feature matching trains G on D's feature means, and changes what G learns") {
    const std::string plain = fixtures::temp_dir("fm_plain"), matched = fixtures::temp_dir("fm_matched");
    const auto a = run_program(data_args() + " --max-iters 3 --outf " + plain);
    const auto b = run_program(data_args() + " --max-iters 3 --feature-matching --outf " + matched);
    INFO(b.output);
    REQUIRE(a.code == 0);
    REQUIRE(b.code == 0);
    // The feature-matching loss is a mean squared distance: small and positive, unlike BCE's
    // log 2 at the start; and D's step is unchanged, so only G's weights differ.
    const size_t at = b.output.find("Loss_G: ");
    REQUIRE(at != std::string::npos);
    const double loss_g = std::stod(b.output.substr(at + 8));
    CHECK(loss_g > 0);
    CHECK(loss_g < 0.5);
    CHECK(bytes_of(plain + "/netG_epoch_000.safetensors") != bytes_of(matched + "/netG_epoch_000.safetensors"));
    fs::remove_all(plain);
    fs::remove_all(matched);
}

TEST_CASE("--channels-last: the same checkpoint bytes as a contiguous run, and a run resumes in either format") {
    // On the CPU a channels-last convolution runs the NCHW code between conversions and
    // batchnorm visits each channel's values in the same order, so the runs agree bit for bit.
    const std::string a = fixtures::temp_dir("cl_plain"), b = fixtures::temp_dir("cl_last"), c = fixtures::temp_dir("cl_switch");
    REQUIRE(run_program(data_args() + " --niter 2 --max-iters 5 --outf " + a).code == 0);
    const auto last = run_program(data_args() + " --niter 2 --max-iters 5 --channels-last --outf " + b);
    INFO(last.output);
    REQUIRE(last.code == 0);
    CHECK(last.output.find("memory format: channels-last (NHWC) activations") != std::string::npos);
    CHECK(bytes_of(a + "/checkpoint.safetensors") == bytes_of(b + "/checkpoint.safetensors"));
    CHECK(bytes_of(a + "/fake_samples_epoch_000.png") == bytes_of(b + "/fake_samples_epoch_000.png"));
    // Contiguous for 2 iterations, channels-last for the next 3: the same bytes again.
    REQUIRE(run_program(data_args() + " --niter 2 --max-iters 2 --outf " + c).code == 0);
    const auto resumed = run_program(data_args() + " --niter 2 --max-iters 5 --channels-last --outf " + c + " --resume " + c +
                                     "/checkpoint.safetensors");
    INFO(resumed.output);
    REQUIRE(resumed.code == 0);
    CHECK(resumed.output.find("resuming") != std::string::npos);
    CHECK(bytes_of(a + "/checkpoint.safetensors") == bytes_of(c + "/checkpoint.safetensors"));
    for (const std::string& d : {a, b, c}) fs::remove_all(d);
}
