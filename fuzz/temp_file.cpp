#include "fuzz_target.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace fuzz {

std::string write_temp_file(const std::string& name, const uint8_t* data, size_t size) {
    namespace fs = std::filesystem;
    static const fs::path dir = [] {
        const fs::path d = fs::temp_directory_path() / ("ganops_fuzz_" + std::to_string(::getpid()));
        fs::create_directories(d);
        return d;
    }();
    const std::string path = (dir / name).string();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw std::logic_error("fuzz: cannot write " + path);  // not a finding: the harness itself failed
    if (size && std::fwrite(data, 1, size, f) != size) {
        std::fclose(f);
        throw std::logic_error("fuzz: cannot write " + path);
    }
    std::fclose(f);
    return path;
}

}  // namespace fuzz
