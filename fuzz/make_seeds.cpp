// Writes the seed corpora in fuzz/corpus/<target>/: small valid inputs of every kind each
// reader takes, so that fuzzing starts from deep inside the formats. Run once after a
// format changes: ./build/fuzz/fuzz_make_seeds fuzz/corpus
#include <lmdb.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <ganops/ganops.h>

#include "image.h"

namespace fs = std::filesystem;
using namespace ganops;

namespace {
void write(const fs::path& path, const std::vector<uint8_t>& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& bytes) {
    const fs::path tmp = fs::temp_directory_path() / "ganops_seed.gz";
    gzFile gz = gzopen(tmp.c_str(), "wb9");
    gzwrite(gz, bytes.data(), unsigned(bytes.size()));
    gzclose(gz);
    std::ifstream in(tmp, std::ios::binary);
    std::vector<uint8_t> out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fs::remove(tmp);
    return out;
}

dcgan::Image pattern(int64_t w, int64_t h, int64_t c) {
    dcgan::Image image{w, h, c, std::vector<uint8_t>(size_t(w * h * c))};
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t(i * 37 + 11);
    return image;
}

std::vector<uint8_t> idx(const std::vector<uint32_t>& dims, uint8_t first) {
    std::vector<uint8_t> out = {0, 0, 8, uint8_t(dims.size())};
    size_t n = 1;
    for (const uint32_t d : dims) {
        for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(d >> s));
        n *= d;
    }
    for (size_t i = 0; i < n; ++i) out.push_back(uint8_t(first + i * 13));
    return out;
}

void lmdb_file(const fs::path& path, const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries) {
    const fs::path dir = fs::temp_directory_path() / "ganops_seed_lmdb";
    fs::remove_all(dir);
    fs::create_directories(dir);
    MDB_env* env;
    MDB_txn* txn;
    MDB_dbi dbi;
    auto check = [](int rc) { if (rc) throw std::runtime_error(mdb_strerror(rc)); };
    check(mdb_env_create(&env));
    check(mdb_env_set_mapsize(env, 1 << 20));
    check(mdb_env_open(env, dir.c_str(), 0, 0644));
    check(mdb_txn_begin(env, nullptr, 0, &txn));
    check(mdb_dbi_open(txn, nullptr, 0, &dbi));
    for (const auto& [key, value] : entries) {
        MDB_val k{key.size(), const_cast<char*>(key.data())}, v{value.size(), const_cast<uint8_t*>(value.data())};
        check(mdb_put(txn, dbi, &k, &v, 0));
    }
    check(mdb_txn_commit(txn));
    mdb_env_close(env);
    fs::create_directories(path.parent_path());
    fs::copy_file(dir / "data.mdb", path, fs::copy_options::overwrite_existing);
    fs::remove_all(dir);
}

std::vector<uint8_t> cli(const std::vector<std::string>& args) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i < args.size(); ++i) {
        if (i) out.push_back(0);
        out.insert(out.end(), args[i].begin(), args[i].end());
    }
    return out;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_FOLDER\n", argv[0]);
        return 2;
    }
    const fs::path root = argv[1];

    // Images: each format, grey and colour, one with alpha (PNG).
    const dcgan::Image grey = pattern(8, 6, 1), rgb = pattern(6, 8, 3);
    write(root / "image/grey.png", dcgan::encode_png(grey));
    write(root / "image/rgb.png", dcgan::encode_png(rgb));
    write(root / "image/grey.jpg", dcgan::encode_jpeg(grey, 80));
    write(root / "image/rgb.jpg", dcgan::encode_jpeg(rgb, 80));
    write(root / "image/rgb.webp", dcgan::encode_webp(rgb, 80));

    // IDX: images and labels, plain and gzip.
    write(root / "idx/images-idx3", idx({3, 4, 5}, 1));
    write(root / "idx/images-idx3.gz", gzip(idx({2, 3, 3}, 7)));
    write(root / "idx/labels-idx1", idx({4}, 2));

    // Safetensors: the tiny generator's state dict (the fuzz target loads into that model),
    // one with a NaN, and the other dtypes.
    nn::DcganGenerator netG(nn::DcganConfig{.nz = 2, .ngf = 2, .ndf = 2, .nc = 1, .image_size = 16});
    write(root / "safetensors/netG.safetensors", nn::encode_safetensors(nn::state_dict(netG), {{"format", "pt"}}));
    write(root / "safetensors/prefixed.safetensors", nn::encode_safetensors(nn::state_dict(netG, "netG."), {{"epoch", "3"}}));
    nn::StoredTensor nan = nn::stored_from_tensor(Tensor::from_vector({2}, std::vector<float>{1.0f, std::nanf("")}));
    nn::StoredTensor f16{"F16", {2, 1}, {0x00, 0x3c, 0x00, 0x7c}}, bf16{"BF16", {1}, {0x80, 0x3f}};
    write(root / "safetensors/dtypes.safetensors",
          nn::encode_safetensors({{"a", nan}, {"b", f16}, {"c", bf16}, {"n", nn::stored_i64_scalar(7)}}, {{"k", "v"}}));

    // LMDB: a few encoded images under string keys, and an empty database.
    lmdb_file(root / "lmdb/three.mdb",
              {{"k0", dcgan::encode_webp(rgb, 50)}, {"k1", dcgan::encode_png(grey)}, {"k2", dcgan::encode_jpeg(rgb, 50)}});
    lmdb_file(root / "lmdb/empty.mdb", {});
    std::vector<std::pair<std::string, std::vector<uint8_t>>> many;  // a branch page and an overflow page
    for (int i = 0; i < 200; ++i) many.emplace_back("key" + std::to_string(1000 + i), std::vector<uint8_t>(size_t(i % 7 + 1), uint8_t(i)));
    many.emplace_back("big", std::vector<uint8_t>(6000, 0x5a));
    lmdb_file(root / "lmdb/branch_and_overflow.mdb", many);

    // Command lines.
    write(root / "cli/train", cli({"--dataset", "fake", "--ngf", "16", "--ndf", "16", "--imageSize", "64", "--niter", "2"}));
    write(root / "cli/tricks", cli({"--label-smoothing", "0.1", "--label-flip", "0.05", "--d-steps", "2", "--feature-matching"}));
    write(root / "cli/generate", cli({"generate", "--netG", "g.safetensors", "--n", "16", "--individual"}));
    write(root / "cli/arithmetic", cli({"arithmetic", "--netG", "g", "--a", "1,2", "--b", "3", "--c", "4,5,6"}));
    write(root / "cli/evaluate", cli({"evaluate", "--netG", "g", "--classifier", "c", "--n", "100"}));
    write(root / "cli/interpolate", cli({"interpolate", "--netG", "g", "--rows", "4", "--steps", "5", "--slerp"}));
    std::printf("seeds written to %s\n", root.c_str());
    return 0;
}
