// Read-only access to an LMDB database of encoded images, as LSUN distributes them
// (bedroom_train_lmdb/ holding data.mdb and lock.mdb, keys are image ids, values are WebP or
// JPEG bytes).
//
// Opening collects the keys once (a cursor walk touches only the B-tree's leaf pages, not
// the values, so 3 million entries open in seconds); the database is mapped, never read
// whole. Reads are safe from many threads at once: each one runs in its own read-only
// transaction, and the environment is opened with MDB_NOLOCK (no lock file is written, so
// read-only copies of the data work) and MDB_NORDAHEAD (random access over a file far larger
// than memory should not read ahead).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

struct MDB_env;

namespace dcgan {

class LmdbReader {
public:
    // `path` is an LMDB folder (containing data.mdb) or the data file itself. Throws
    // std::runtime_error naming the path for a missing, corrupt or truncated database.
    explicit LmdbReader(const std::string& path);
    ~LmdbReader();
    LmdbReader(const LmdbReader&) = delete;
    LmdbReader& operator=(const LmdbReader&) = delete;

    int64_t size() const { return int64_t(key_offsets_.size()) - 1; }
    std::string key(int64_t i) const;
    std::vector<uint8_t> value(int64_t i) const;  // a copy, so the caller may outlive the transaction
    const std::string& path() const { return path_; }

private:
    std::string path_;
    MDB_env* env_ = nullptr;
    unsigned dbi_ = 0;
    std::vector<char> keys_;             // every key, back to back
    std::vector<uint64_t> key_offsets_;  // key i is keys_[key_offsets_[i], key_offsets_[i + 1])
};

}  // namespace dcgan
