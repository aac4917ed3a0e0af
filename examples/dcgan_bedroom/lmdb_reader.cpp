#include "lmdb_reader.h"

#include <lmdb.h>

#include <filesystem>
#include <stdexcept>

namespace dcgan {

namespace {
std::runtime_error lmdb_error(const std::string& path, const std::string& what, int rc) {
    return std::runtime_error(path + ": " + what + ": " + mdb_strerror(rc) +
                              (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH
                                   ? " (not an LMDB database, or a corrupt one)"
                                   : ""));
}

// Aborts a read-only transaction on every exit path.
struct ReadTxn {
    ReadTxn(MDB_env* env, const std::string& path) {
        if (const int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn)) throw lmdb_error(path, "cannot begin a read", rc);
    }
    ~ReadTxn() { mdb_txn_abort(txn); }
    MDB_txn* txn = nullptr;
};
}  // namespace

LmdbReader::LmdbReader(const std::string& path) : path_(path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const bool folder = fs::is_directory(path, ec);
    const fs::path data_file = folder ? fs::path(path) / "data.mdb" : fs::path(path);
    if (!fs::is_regular_file(data_file, ec))
        throw std::runtime_error(path + ": no LMDB database here (" + data_file.string() + " does not exist)");
    const uintmax_t file_size = fs::file_size(data_file, ec);
    if (ec || file_size == 0) throw std::runtime_error(path + ": the LMDB file " + data_file.string() + " is empty");

    if (const int rc = mdb_env_create(&env_)) throw lmdb_error(path, "cannot create an environment", rc);
    const unsigned flags = MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS | MDB_NORDAHEAD | (folder ? 0u : unsigned(MDB_NOSUBDIR));
    if (const int rc = mdb_env_open(env_, path.c_str(), flags, 0444)) {
        mdb_env_close(env_);
        env_ = nullptr;
        throw lmdb_error(path, "cannot open", rc);
    }
    // Pages past the end of a truncated file would fault (SIGBUS) when touched through the
    // map: refuse such a file now, with a message, instead of crashing mid-epoch.
    MDB_envinfo info;
    MDB_stat stat;
    mdb_env_info(env_, &info);
    mdb_env_stat(env_, &stat);
    const uintmax_t needed = uintmax_t(info.me_last_pgno + 1) * stat.ms_psize;
    if (needed > file_size) {
        mdb_env_close(env_);
        env_ = nullptr;
        throw std::runtime_error(path + ": corrupt LMDB: truncated (" + std::to_string(file_size) + " bytes, the database needs " +
                                 std::to_string(needed) + ")");
    }

    try {
        ReadTxn read(env_, path);
        MDB_dbi dbi;
        if (const int rc = mdb_dbi_open(read.txn, nullptr, 0, &dbi)) throw lmdb_error(path, "cannot open the database", rc);
        dbi_ = dbi;
        MDB_stat db_stat;
        mdb_stat(read.txn, dbi, &db_stat);
        key_offsets_.reserve(db_stat.ms_entries + 1);
        key_offsets_.push_back(0);
        MDB_cursor* cursor = nullptr;
        if (const int rc = mdb_cursor_open(read.txn, dbi, &cursor)) throw lmdb_error(path, "cannot open a cursor", rc);
        MDB_val key, value;
        int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
        for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
            const char* k = static_cast<const char*>(key.mv_data);
            keys_.insert(keys_.end(), k, k + key.mv_size);
            key_offsets_.push_back(keys_.size());
        }
        mdb_cursor_close(cursor);
        if (rc != MDB_NOTFOUND) throw lmdb_error(path, "cannot list the keys", rc);
    } catch (...) {
        mdb_env_close(env_);
        env_ = nullptr;
        throw;
    }
}

LmdbReader::~LmdbReader() {
    if (env_) mdb_env_close(env_);
}

std::string LmdbReader::key(int64_t i) const {
    return std::string(keys_.data() + key_offsets_[size_t(i)], keys_.data() + key_offsets_[size_t(i) + 1]);
}

std::vector<uint8_t> LmdbReader::value(int64_t i) const {
    ReadTxn read(env_, path_);
    MDB_val key{key_offsets_[size_t(i) + 1] - key_offsets_[size_t(i)], const_cast<char*>(keys_.data() + key_offsets_[size_t(i)])};
    MDB_val value;
    if (const int rc = mdb_get(read.txn, dbi_, &key, &value)) throw lmdb_error(path_, "cannot read key " + this->key(i), rc);
    const uint8_t* p = static_cast<const uint8_t*>(value.mv_data);
    return std::vector<uint8_t>(p, p + value.mv_size);
}

}  // namespace dcgan
