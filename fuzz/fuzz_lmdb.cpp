// LMDB databases as LSUN distributes them: the meta pages, the B-tree walk that lists the
// keys, and value reads. Expected outcome for bad bytes: std::runtime_error (from the
// checks before liblmdb sees the file, or from the fault guard around its reads).
#include <stdexcept>

#include "fuzz_target.h"
#include "lmdb_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::write_temp_file("data.mdb", data, size);
    try {
        dcgan::LmdbReader reader(path);
        for (int64_t i = 0; i < reader.size() && i < 64; ++i) {
            try {
                reader.value(i);
            } catch (const std::runtime_error&) {
            }
        }
    } catch (const std::runtime_error&) {
    }
    return 0;
}
