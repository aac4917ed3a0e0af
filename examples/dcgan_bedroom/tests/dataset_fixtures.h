// Small datasets, files and program runs made by the tests themselves.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "image.h"

namespace fixtures {

// A fresh, empty folder under the temporary directory, unique to this process.
std::string temp_dir(const std::string& name);

// A w x h image whose every pixel differs from its neighbours, so resizing and channel
// mix-ups show: value (17 * x + 29 * y + 71 * c + seed) mod 256.
dcgan::Image pattern(int64_t w, int64_t h, int64_t channels, int seed = 0);

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
// An LMDB database in `folder` (data.mdb, lock.mdb) holding the entries.
void write_lmdb(const std::string& folder, const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries);
// An IDX3 file of `count` images of rows x cols.
std::vector<uint8_t> idx_bytes(uint32_t count, uint32_t rows, uint32_t cols, const std::vector<uint8_t>& pixels);

struct Run {
    int code = -1;
    std::string output;  // stdout and stderr
};
// Runs the dcgan_bedroom binary with `args`.
Run run_program(const std::string& args);

}  // namespace fixtures
