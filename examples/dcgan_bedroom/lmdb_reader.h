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

#include "fault_guard.h"

struct MDB_env;

namespace dcgan {

class LmdbReader {
public:
    // `path` is an LMDB folder (containing data.mdb) or the data file itself. Throws
    // std::runtime_error naming the path for a missing, corrupt or truncated database:
    // both meta pages are checked against the file before liblmdb opens it (magic, version,
    // page size, last page, tree roots and depths, entry count), keys and values must lie in
    // the file, and a fault inside liblmdb on a corrupt page (fault_guard.h) becomes an
    // error naming the file and the key.
    explicit LmdbReader(const std::string& path);
    ~LmdbReader();
    LmdbReader(const LmdbReader&) = delete;
    LmdbReader& operator=(const LmdbReader&) = delete;

    int64_t size() const { return int64_t(key_offsets_.size()) - 1; }
    std::string key(int64_t i) const;
    std::vector<uint8_t> value(int64_t i) const;  // a copy, so the caller may outlive the transaction
    const std::string& path() const { return path_; }

private:
    bool in_file(const void* p, size_t size) const;  // [p, p + size) lies within the mapped file

    FaultGuardScope fault_guard_;  // liblmdb's reads of a corrupt page end in an error, not a crash
    std::string path_;
    MDB_env* env_ = nullptr;
    std::vector<uintptr_t> maps_;  // where the file is mapped (/proc/self/maps); empty if unknown
    uint64_t file_size_ = 0;
    unsigned dbi_ = 0;
    std::vector<char> keys_;             // every key, back to back
    std::vector<uint64_t> key_offsets_;  // key i is keys_[key_offsets_[i], key_offsets_[i + 1])
};

}  // namespace dcgan
