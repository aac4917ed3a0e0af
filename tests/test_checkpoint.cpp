// nn/checkpoint: safetensors encoding by hand-computed bytes, state dicts with PyTorch's
// names and shapes, round trips, files as Python's safetensors writes them, and every
// kind of bad file.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

#include "nn/checkpoint.h"
#include "test_util.h"

using namespace ganops;
namespace fs = std::filesystem;

namespace {
std::string temp_path(const std::string& name) {
    return (fs::temp_directory_path() / ("ganops_ckpt_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::vector<uint8_t> with_header(const std::string& header, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> out;
    out.reserve(8 + header.size() + data.size());
    for (int i = 0; i < 8; ++i) out.push_back(uint8_t(uint64_t(header.size()) >> (8 * i)));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

std::vector<uint8_t> float_bytes(const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}
}  // namespace

TEST_CASE("safetensors: the encoded bytes are the format's, padded to 8") {
    nn::StoredTensor t{"F32", {2}, float_bytes({1.5f, -2.0f})};
    const std::vector<uint8_t> bytes = nn::encode_safetensors({{"w", t}}, {{"format", "pt"}});
    const std::string header = R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const size_t padded = (header.size() + 7) / 8 * 8;
    REQUIRE(bytes.size() == 8 + padded + 8);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    CHECK(n == padded);
    CHECK(std::string(bytes.begin() + 8, bytes.begin() + 8 + long(header.size())) == header);
    CHECK(bytes[8 + header.size()] == (padded > header.size() ? ' ' : '\0') );
    float v[2];
    std::memcpy(v, bytes.data() + 8 + padded, 8);
    CHECK(v[0] == 1.5f);
    CHECK(v[1] == -2.0f);
}

TEST_CASE("safetensors: a file as Python writes it (unsorted offsets, I64 scalar, escapes) is read") {
    // safetensors.torch.save_file orders data by dtype alignment: the I64 scalar comes first.
    const std::string header =
        R"({"__metadata__":{"format":"pt","note":"a \"quoted\" \u00e9"},)"
        R"("main.1.weight":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
        R"("main.1.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}  )";
    std::vector<uint8_t> data(8);
    const int64_t count = 123456789012;
    std::memcpy(data.data(), &count, 8);
    const std::vector<uint8_t> w = float_bytes({0.25f, 3.0f});
    data.insert(data.end(), w.begin(), w.end());
    const std::vector<uint8_t> file = with_header(header, data);
    const nn::SafetensorsFile f = nn::decode_safetensors(file.data(), file.size(), "py.safetensors");
    CHECK(f.metadata.at("format") == "pt");
    CHECK(f.metadata.at("note") == "a \"quoted\" \xC3\xA9");
    REQUIRE(f.find("main.1.num_batches_tracked"));
    CHECK(nn::i64_scalar_from_stored(*f.find("main.1.num_batches_tracked"), "nbt") == count);
    CHECK(f.find("main.1.num_batches_tracked")->shape.empty());
    const Tensor t = nn::tensor_from_stored(*f.find("main.1.weight"));
    CHECK(t.to_vector() == std::vector<float>{0.25f, 3.0f});
}

TEST_CASE("state dict: the DCGAN's names and shapes are pytorch/examples'") {
    nn::DcganConfig c{.nz = 100, .ngf = 64, .ndf = 64, .nc = 3, .image_size = 64};
    nn::DcganGenerator netG(c);
    nn::DcganDiscriminator netD(c);
    std::map<std::string, std::pair<std::string, std::vector<int64_t>>> g;
    for (const auto& [name, t] : nn::state_dict(netG)) g[name] = {t.dtype, t.shape};
    CHECK(g.size() == 25);  // 5 transposed convs + 4 BN x (weight, bias, mean, var, count)
    CHECK(g.at("main.0.weight").second == std::vector<int64_t>{100, 512, 4, 4});
    CHECK(g.at("main.1.running_var").second == std::vector<int64_t>{512});
    CHECK(g.at("main.1.num_batches_tracked") == std::pair<std::string, std::vector<int64_t>>{"I64", {}});
    CHECK(g.at("main.12.weight").second == std::vector<int64_t>{64, 3, 4, 4});
    CHECK(g.count("main.12.bias") == 0);
    std::map<std::string, std::vector<int64_t>> d;
    for (const auto& [name, t] : nn::state_dict(netD)) d[name] = t.shape;
    CHECK(d.size() == 20);  // 5 convs + 3 BN x (weight, bias, mean, var, count)
    CHECK(d.at("main.0.weight") == std::vector<int64_t>{64, 3, 4, 4});
    CHECK(d.at("main.3.num_batches_tracked").empty());
    CHECK(d.at("main.11.weight") == std::vector<int64_t>{1, 512, 4, 4});
}

TEST_CASE("state dict: save and load restore every value and counter bit for bit") {
    nn::DcganConfig c{.nz = 6, .ngf = 4, .ndf = 4, .nc = 1, .image_size = 16};
    nn::DcganGenerator a(c), b(c);
    Generator gen{77, 0};
    nn::dcgan_init(a, gen);
    a.train();
    a(Tensor::normal({3, 6, 1, 1}, 0, 1, gen));  // moves running statistics and counters
    a(Tensor::normal({3, 6, 1, 1}, 0, 1, gen));
    const std::string path = temp_path("g.safetensors");
    nn::save_state_dict(a, path, {{"epoch", "7"}});
    const auto meta = nn::load_state_dict(b, path);
    CHECK(meta.at("epoch") == "7");
    CHECK(meta.at("format") == "pt");
    const auto pa = a.named_parameters(), pb = b.named_parameters();
    for (size_t i = 0; i < pa.size(); ++i) CHECK(pa[i].second.to_vector() == pb[i].second.to_vector());
    const auto ba = a.named_buffers(), bb = b.named_buffers();
    REQUIRE(ba.size() == 4);
    for (size_t i = 0; i < ba.size(); ++i) {
        CHECK(ba[i].second.to_vector() == bb[i].second.to_vector());
        CHECK(ba[i].second.to_vector() != Tensor::zeros(ba[i].second.shape()).to_vector());
    }
    CHECK(dynamic_cast<nn::BatchNorm2d&>((*b.main)[1]).num_batches_tracked == 2);
    // Loaded parameters stay trainable leaves.
    CHECK(pb[0].second.requires_grad());
    CHECK(pb[0].second.is_leaf());
    fs::remove(path);
}

TEST_CASE("state dict: channels-last weights are saved in PyTorch's layout and load into either format, bit for bit") {
    nn::DcganConfig c{.nz = 6, .ngf = 4, .ndf = 4, .nc = 3, .image_size = 16};
    nn::DcganDiscriminator plain(c), last(c), loaded_plain(c), loaded_last(c);
    Generator gen{79, 0};
    nn::dcgan_init(plain, gen);
    // The same values, the weights stored KRSC (Module::to(MemoryFormat): in place).
    nn::load_state_dict(last, nn::SafetensorsFile{nn::state_dict(plain), {}}, "plain");
    last.to(MemoryFormat::ChannelsLast);
    loaded_last.to(MemoryFormat::ChannelsLast);
    const auto w_plain = plain.named_parameters(), w_last = last.named_parameters();
    REQUIRE(w_last[0].second.is_channels_last());
    REQUIRE(w_last[0].second.to(Device::CPU).data<float>()[1] != w_plain[0].second.data<float>()[1]);  // another order
    // The file holds KCRS whatever the format in memory: the same bytes as the contiguous model's.
    CHECK(nn::encode_safetensors(nn::state_dict(last)) == nn::encode_safetensors(nn::state_dict(plain)));
    const std::string from_last = temp_path("d_last.safetensors"), from_plain = temp_path("d_plain.safetensors");
    nn::save_state_dict(last, from_last);
    nn::save_state_dict(plain, from_plain);
    nn::load_state_dict(loaded_plain, from_last);  // channels-last saved, contiguous loaded
    nn::load_state_dict(loaded_last, from_plain);  // and the other way round
    const auto a = loaded_plain.named_parameters(), b = loaded_last.named_parameters();
    REQUIRE(a.size() == w_plain.size());
    for (size_t i = 0; i < a.size(); ++i) {
        INFO(a[i].first);
        CHECK_FALSE(a[i].second.is_channels_last());
        CHECK(b[i].second.is_channels_last() == (b[i].second.ndim() == 4));  // a load keeps the parameter's format
        CHECK(a[i].second.to_vector() == w_plain[i].second.to_vector());
        CHECK(b[i].second.to_vector() == w_plain[i].second.to_vector());
        CHECK(b[i].second.is_leaf());
    }
    fs::remove(from_last);
    fs::remove(from_plain);
}

TEST_CASE("state dict: a model of another shape is refused, naming the tensor, and left untouched") {
    nn::DcganGenerator small({.nz = 6, .ngf = 4, .ndf = 4, .nc = 1, .image_size = 16});
    nn::DcganGenerator wide({.nz = 6, .ngf = 8, .ndf = 4, .nc = 1, .image_size = 16});
    const std::string path = temp_path("small.safetensors");
    nn::save_state_dict(small, path);
    const std::vector<float> before = wide.named_parameters()[0].second.to_vector();
    CHECK_THROWS_CONTAINING(nn::load_state_dict(wide, path), "\"main.0.weight\" has shape [6, 8, 4, 4] but the model expects [6, 16, 4, 4]");
    CHECK(wide.named_parameters()[0].second.to_vector() == before);
    nn::DcganGenerator bigger({.nz = 6, .ngf = 4, .ndf = 4, .nc = 1, .image_size = 32});
    CHECK_THROWS_CONTAINING(nn::load_state_dict(bigger, path), "main.0.weight");
    nn::DcganDiscriminator d({.nz = 6, .ngf = 4, .ndf = 4, .nc = 1, .image_size = 16});
    CHECK_THROWS_CONTAINING(nn::load_state_dict(d, path), path);
    fs::remove(path);
}

TEST_CASE("state dict: NaN or inf weights are refused, naming the tensor and the file, unless allowed") {
    nn::DcganConfig c{.nz = 6, .ngf = 4, .ndf = 4, .nc = 1, .image_size = 16};
    nn::DcganGenerator saved(c), loaded(c);
    Generator gen{5, 0};
    nn::dcgan_init(saved, gen);
    nn::dcgan_init(loaded, gen);
    auto named = saved.named_parameters();
    const std::string weight_name = named[3].first;  // a BatchNorm weight, not the first tensor
    std::vector<float> w = named[3].second.to_vector();
    w[2] = std::nanf("");
    w[5] = INFINITY;
    {
        NoGradGuard no_grad;
        named[3].second.copy_from(Tensor::from_vector(named[3].second.shape(), w));
    }
    const std::string path = temp_path("nan.safetensors");
    nn::save_state_dict(saved, path);
    const std::vector<float> before = loaded.named_parameters()[0].second.to_vector();
    CHECK_THROWS_CONTAINING(nn::load_state_dict(loaded, path),
                            path + ": tensor \"" + weight_name + "\" holds NaN at element 2 (2 non-finite values in [");
    CHECK(loaded.named_parameters()[0].second.to_vector() == before);  // nothing was written
    // Allowed explicitly, the values arrive as stored.
    nn::load_state_dict(loaded, nn::read_safetensors(path), path, "", true, /*allow_nonfinite=*/true);
    const std::vector<float> got = loaded.named_parameters()[3].second.to_vector();
    CHECK(std::isnan(got[2]));
    CHECK(got[5] == INFINITY);
    CHECK(got[0] == w[0]);
    CHECK_THROWS_CONTAINING(nn::check_finite(Tensor::from_vector({3}, std::vector<double>{1, -INFINITY, 2}), "x"),
                            "x holds -inf at element 1 (1 non-finite value in [3])");
    CHECK_NOTHROW(nn::check_finite(test::randn({4, 4}), "finite"));
    fs::remove(path);
}

TEST_CASE("safetensors: corrupt files fail with the file and the problem named") {
    const std::string ok = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const std::vector<uint8_t> data = float_bytes({1, 2});
    auto fails = [](const std::vector<uint8_t>& bytes, const std::string& message) {
        INFO(message);
        CHECK_THROWS_CONTAINING(nn::decode_safetensors(bytes.data(), bytes.size(), "bad.safetensors"), message);
        CHECK_THROWS_CONTAINING(nn::decode_safetensors(bytes.data(), bytes.size(), "bad.safetensors"), "bad.safetensors");
    };
    CHECK_NOTHROW(nn::decode_safetensors(with_header(ok, data).data(), with_header(ok, data).size(), "x"));
    fails({1, 2, 3}, "shorter than the 8-byte header length");
    std::vector<uint8_t> huge = with_header(ok, data);
    huge[6] = 1;  // header length far beyond the file
    fails(huge, "header length");
    std::vector<uint8_t> cut = with_header(ok, data);
    cut.resize(cut.size() - 4);
    fails(cut, "lie outside");
    fails(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data), "do not hold F32 [3]");
    fails(with_header(R"({"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", data), "unknown dtype");
    fails(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data),
          "overlap");
    fails(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", data), "corrupt safetensors header");
    fails(with_header(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", data), "corrupt safetensors header");
    fails(with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data), "bad shape entry");
    // Two extents below 2^40 whose product wraps 64 bits to 0 once passed with no data at all.
    fails(with_header(R"({"w":{"dtype":"F32","shape":[549755813888,549755813888],"data_offsets":[0,0]}})", {}), "shape too large");
    fails(with_header(R"({"w":{"dtype":"I64","shape":[1099511627775,1099511627775,0],"data_offsets":[0,0]}})", {}), "shape too large");
    fails(with_header(R"({"w":{"dtype":"F32","shape":[2]}})", data), "data_offsets");

    // The loader names the missing or extra tensor.
    nn::DcganGenerator netG({.nz = 2, .ngf = 2, .ndf = 2, .nc = 1, .image_size = 16});
    auto sd = nn::state_dict(netG);
    auto without = sd;
    without.erase(without.begin() + 2);
    const std::vector<uint8_t> missing = nn::encode_safetensors(without);
    CHECK_THROWS_CONTAINING(nn::load_state_dict(netG, nn::decode_safetensors(missing.data(), missing.size(), "m"), "m"),
                            "missing tensor \"" + sd[2].first + "\"");
    auto extra = sd;
    extra.emplace_back("main.99.weight", nn::stored_i64_scalar(1));
    const std::vector<uint8_t> more = nn::encode_safetensors(extra);
    CHECK_THROWS_CONTAINING(nn::load_state_dict(netG, nn::decode_safetensors(more.data(), more.size(), "e"), "e"),
                            "unexpected tensor \"main.99.weight\"");
    CHECK_THROWS_CONTAINING(nn::read_safetensors(temp_path("does_not_exist")), "cannot open");
}

TEST_CASE("stale temporaries of killed writers are removed, those of live processes kept") {
    const std::string dir = temp_path("stale");
    fs::create_directories(dir);
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    REQUIRE(dead > 0);
    int status = 0;
    ::waitpid(dead, &status, 0);
    const std::string mine = dir + "/checkpoint.safetensors.tmp." + std::to_string(::getpid());
    const std::string stale = dir + "/checkpoint.safetensors.tmp." + std::to_string(dead);
    for (const std::string& p : {mine, stale, dir + "/notes.tmp.x1", dir + "/checkpoint.safetensors"}) std::ofstream(p) << "x";
    CHECK(nn::remove_stale_temporaries(dir) == 1);
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(mine));
    CHECK(fs::exists(dir + "/notes.tmp.x1"));
    CHECK(fs::exists(dir + "/checkpoint.safetensors"));
    CHECK(nn::remove_stale_temporaries(dir + "/missing") == 0);
    fs::remove_all(dir);
}

TEST_CASE("atomic write: the target is replaced whole, no temporary file stays, failures are reported") {
    const std::string path = temp_path("atomic.bin");
    nn::write_file_atomic(path, "first version", 13);
    nn::write_file_atomic(path, "second", 6);
    std::ifstream in(path, std::ios::binary);
    const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(content == "second");
    int leftovers = 0;
    for (const auto& entry : fs::directory_iterator(fs::temp_directory_path()))
        if (entry.path().filename().string().rfind("ganops_ckpt_" + std::to_string(::getpid()) + "_atomic.bin.tmp", 0) == 0) ++leftovers;
    CHECK(leftovers == 0);
    // Under a regular file nothing can be created; the old file stays as it was.
    CHECK_THROWS_CONTAINING(nn::write_file_atomic(path + "/inside", "x", 1), "cannot write");
    CHECK(fs::file_size(path) == 6);
    fs::remove(path);
}
