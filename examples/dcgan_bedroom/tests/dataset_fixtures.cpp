#include "dataset_fixtures.h"

#include <lmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace fixtures {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
    const fs::path p = fs::temp_directory_path() / ("dcgan_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

dcgan::Image pattern(int64_t w, int64_t h, int64_t channels, int seed) {
    dcgan::Image image{w, h, channels, std::vector<uint8_t>(size_t(w * h * channels))};
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int64_t c = 0; c < channels; ++c)
                image.pixels[size_t((y * w + x) * channels + c)] = uint8_t((17 * x + 29 * y + 71 * c + seed) % 256);
    return image;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

void write_lmdb(const std::string& folder, const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries) {
    fs::create_directories(folder);
    MDB_env* env = nullptr;
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    auto check = [](int rc, const char* what) {
        if (rc) throw std::runtime_error(std::string(what) + ": " + mdb_strerror(rc));
    };
    check(mdb_env_create(&env), "mdb_env_create");
    check(mdb_env_set_mapsize(env, size_t(64) << 20), "mdb_env_set_mapsize");
    check(mdb_env_open(env, folder.c_str(), 0, 0644), "mdb_env_open");
    check(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin");
    check(mdb_dbi_open(txn, nullptr, 0, &dbi), "mdb_dbi_open");
    for (const auto& [key, value] : entries) {
        MDB_val k{key.size(), const_cast<char*>(key.data())};
        MDB_val v{value.size(), const_cast<uint8_t*>(value.data())};
        check(mdb_put(txn, dbi, &k, &v, 0), "mdb_put");
    }
    check(mdb_txn_commit(txn), "mdb_txn_commit");
    mdb_env_close(env);
}

std::vector<uint8_t> idx_bytes(uint32_t count, uint32_t rows, uint32_t cols, const std::vector<uint8_t>& pixels) {
    std::vector<uint8_t> out = {0, 0, 8, 3};
    for (const uint32_t v : {count, rows, cols})
        for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
    out.insert(out.end(), pixels.begin(), pixels.end());
    return out;
}

Run run_program(const std::string& args) {
    const std::string log = (fs::temp_directory_path() / ("dcgan_test_run_" + std::to_string(::getpid()) + ".txt")).string();
    const std::string command = std::string(DCGAN_BINARY) + " " + args + " > " + log + " 2>&1";
    const int status = std::system(command.c_str());
    Run run;
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(log);
    run.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    fs::remove(log);
    return run;
}

}  // namespace fixtures
