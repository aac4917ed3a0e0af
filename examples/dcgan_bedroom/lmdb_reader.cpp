#include "lmdb_reader.h"

#include <lmdb.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <tuple>

#include "fault_guard.h"

namespace dcgan {

namespace {
std::runtime_error lmdb_error(const std::string& path, const std::string& what, int rc) {
    return std::runtime_error(path + ": " + what + ": " + mdb_strerror(rc) +
                              (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH
                                   ? " (not an LMDB database, or a corrupt one)"
                                   : ""));
}

// The two meta pages at the start of an LMDB file, as liblmdb 0.9 lays them out (mdb.c:
// MDB_page's 16-byte header, then MDB_meta). liblmdb checks only their magic and version
// and then trusts the rest, so a truncated or damaged file crashes it; these are checked
// here before mdb_env_open sees the file.
constexpr uint32_t kMetaMagic = 0xBEEFC0DE;
constexpr uint32_t kDataVersion = 1;
constexpr uint16_t kMetaPageFlag = 0x08;            // P_META
constexpr uint64_t kNoPage = ~uint64_t(0);          // P_INVALID: an empty tree's root
constexpr size_t kPageHeader = 16;                  // PAGEHDRSZ
constexpr size_t kMetaBytes = kPageHeader + 136;    // header + MDB_meta on 64-bit targets
constexpr int kMaxDepth = 32;                       // liblmdb's CURSOR_STACK
constexpr size_t kMaxKeyBytes = 511;                // liblmdb's MDB_MAXKEYSIZE

struct MetaPage {
    uint16_t page_flags = 0;
    uint32_t magic = 0, version = 0;
    uint64_t map_size = 0;
    uint32_t page_size = 0;                          // mm_dbs[FREE_DBI].md_pad
    uint16_t free_depth = 0, main_depth = 0;
    uint64_t free_root = 0, main_root = 0, main_entries = 0;
    uint64_t last_page = 0, txn_id = 0;
};

template <class T>
T field(const uint8_t* page, size_t offset) {
    T v;
    std::memcpy(&v, page + offset, sizeof v);  // little-endian, like every target of this library
    return v;
}

MetaPage parse_meta(const uint8_t* page) {
    MetaPage m;
    m.page_flags = field<uint16_t>(page, 10);
    const uint8_t* meta = page + kPageHeader;
    m.magic = field<uint32_t>(meta, 0);
    m.version = field<uint32_t>(meta, 4);
    m.map_size = field<uint64_t>(meta, 16);
    // mm_dbs[0] (the free-page tree) at 24, mm_dbs[1] (the main tree) at 72, 48 bytes each:
    // md_pad, md_flags, md_depth, branch, leaf and overflow page counts, md_entries, md_root.
    m.page_size = field<uint32_t>(meta, 24);
    m.free_depth = field<uint16_t>(meta, 24 + 6);
    m.free_root = field<uint64_t>(meta, 24 + 40);
    m.main_depth = field<uint16_t>(meta, 72 + 6);
    m.main_entries = field<uint64_t>(meta, 72 + 32);
    m.main_root = field<uint64_t>(meta, 72 + 40);
    m.last_page = field<uint64_t>(meta, 120);
    m.txn_id = field<uint64_t>(meta, 128);
    return m;
}

std::string str(uint64_t v) { return std::to_string(v); }

// What liblmdb itself checks in each copy (magic, version), plus the page size it divides
// by; "" if they are fine.
std::string header_problem(const MetaPage& m) {
    if (!(m.page_flags & kMetaPageFlag) || m.magic != kMetaMagic) return "not an LMDB database (bad magic number)";
    if (m.version != kDataVersion) return "LMDB data version " + str(m.version) + ", this reader knows " + str(kDataVersion);
    if (m.page_size < 512 || m.page_size > 65536 || (m.page_size & (m.page_size - 1)))
        return "page size " + str(m.page_size) + " is not a power of two from 512 to 65536";
    return "";
}

// Why the copy liblmdb will use cannot describe a file of `file_size` bytes, or "".
std::string layout_problem(const MetaPage& m, uint64_t file_size) {
    if (const std::string header = header_problem(m); !header.empty()) return header;
    if (m.last_page < 1 || m.last_page > file_size / m.page_size - 1)
        return "its last page " + str(m.last_page) + " ends at byte " +
               (m.last_page < (uint64_t(1) << 47) ? str((m.last_page + 1) * m.page_size) : "2^60+") + ", but the file has " +
               str(file_size) + " bytes (truncated?)";
    for (const auto& [name, root, depth] : {std::tuple{"main", m.main_root, m.main_depth}, std::tuple{"free-page", m.free_root, m.free_depth}}) {
        if (root == kNoPage) continue;
        if (root < 2 || root > m.last_page) return std::string(name) + " tree root page " + str(root) + " is outside pages 2.." + str(m.last_page);
        if (depth < 1 || depth > kMaxDepth) return std::string(name) + " tree depth " + str(depth) + " is outside 1.." + str(kMaxDepth);
    }
    // Every entry takes at least a 2-byte slot and an 8-byte node on a leaf page.
    if (m.main_entries > file_size / 10) return str(m.main_entries) + " entries cannot fit " + str(file_size) + " bytes";
    if (m.map_size > (uint64_t(1) << 46)) return "map size " + str(m.map_size) + " is above 64 TiB";
    return "";
}

// Checks both meta pages as liblmdb reads them (magic and version of each; the second is
// found at the first one's page size), then the one liblmdb will use (the higher
// transaction id; the first on a tie) against the file, and returns it. The older copy may
// be stale: liblmdb never follows it. Throws std::runtime_error naming the file for
// anything liblmdb would trust into a crash.
MetaPage check_meta_pages(const std::string& path, const std::string& data_file, uint64_t file_size) {
    std::ifstream in(data_file, std::ios::binary);
    uint8_t page[kMetaBytes];
    auto fail = [&](const std::string& why) { return std::runtime_error(path + ": corrupt LMDB: " + why); };
    if (!in.read(reinterpret_cast<char*>(page), kMetaBytes)) throw fail("shorter than its first meta page");
    const MetaPage first = parse_meta(page);
    // Magic, version and page size of the first copy decide where the second one is.
    if (const std::string header = header_problem(first); !header.empty()) throw fail("meta page 0: " + header);
    if (!in.seekg(std::streamoff(first.page_size)) || !in.read(reinterpret_cast<char*>(page), kMetaBytes))
        throw fail("shorter than its second meta page");
    const MetaPage second = parse_meta(page);
    if (const std::string header = header_problem(second); !header.empty()) throw fail("meta page 1: " + header);
    if (second.page_size != first.page_size)
        throw fail("meta page 1: page size " + str(second.page_size) + " differs from meta page 0's " + str(first.page_size));
    const bool second_used = first.txn_id < second.txn_id;
    const std::string problem = layout_problem(second_used ? second : first, file_size);
    if (!problem.empty())
        throw fail("meta page " + std::string(second_used ? "1" : "0") + " (the newer one, transaction " +
                   std::to_string(second_used ? second.txn_id : first.txn_id) + "): " + problem);
    return second_used ? second : first;
}

// A key as error messages show it: LSUN keys are printable, a corrupt one may not be.
std::string printable(const std::string& key) {
    std::string out;
    for (const unsigned char c : key) {
        if (c >= 0x20 && c < 0x7f) {
            out += char(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out;
}

std::string fault_name(int sig) {
    switch (sig) {
        case SIGSEGV: return "a read outside the map (SIGSEGV)";
        case SIGBUS: return "a read past the end of the file (SIGBUS)";
        case SIGFPE: return "an arithmetic fault (SIGFPE)";
        case SIGABRT: return "a failed liblmdb assertion";
    }
    return "signal " + std::to_string(sig);
}

// Where the file is mapped: liblmdb keeps its map address to itself (MDB_envinfo's
// me_mapaddr is the address recorded in the file, not the map), so the mappings of the
// file are looked up in /proc/self/maps (several if the file is open more than once).
std::vector<uintptr_t> mappings_of(const std::filesystem::path& file) {
    std::error_code ec;
    const std::string wanted = std::filesystem::canonical(file, ec).string();
    std::vector<uintptr_t> bases;
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (!ec && std::getline(maps, line)) {
        // start-end perms offset dev inode path
        unsigned long long start = 0, end = 0, offset = 0;
        char perms[8] = {}, dev[16] = {};
        unsigned long long inode = 0;
        int path_at = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %15s %llu %n", &start, &end, perms, &offset, dev, &inode, &path_at) < 6 ||
            path_at <= 0)
            continue;
        if (offset == 0 && line.compare(size_t(path_at), std::string::npos, wanted) == 0) bases.push_back(uintptr_t(start));
    }
    return bases;
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
    const MetaPage meta = check_meta_pages(path, data_file.string(), file_size);
    file_size_ = file_size;

    if (const int rc = mdb_env_create(&env_)) throw lmdb_error(path, "cannot create an environment", rc);
    // A failed liblmdb assertion (a corrupt page it noticed) ends the guarded read, not the process.
    mdb_env_set_assert(env_, [](MDB_env*, const char*) { guarded_assert_failed(); });
    const unsigned flags = MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS | MDB_NORDAHEAD | (folder ? 0u : unsigned(MDB_NOSUBDIR));
    if (const int rc = mdb_env_open(env_, path.c_str(), flags, 0444)) {
        mdb_env_close(env_);
        env_ = nullptr;
        throw lmdb_error(path, "cannot open", rc);
    }
    maps_ = mappings_of(data_file);

    try {
        ReadTxn read(env_, path);
        MDB_dbi dbi;
        if (const int rc = mdb_dbi_open(read.txn, nullptr, 0, &dbi)) throw lmdb_error(path, "cannot open the database", rc);
        dbi_ = dbi;
        // The meta page's entry count was checked against the file size: it bounds the walk
        // (a corrupt tree whose pages point at each other could otherwise list keys forever).
        key_offsets_.reserve(meta.main_entries + 1);
        key_offsets_.push_back(0);
        MDB_cursor* cursor = nullptr;
        if (const int rc = mdb_cursor_open(read.txn, dbi, &cursor)) throw lmdb_error(path, "cannot open a cursor", rc);
        // One cursor step, and the copy of its key (liblmdb keys are at most 511 bytes), run
        // inside the fault guard: both read the mapped file.
        struct Step {
            MDB_cursor* cursor;
            MDB_cursor_op op;
            int rc;
            MDB_val key;
            char key_bytes[kMaxKeyBytes];
        };
        Step step{cursor, MDB_FIRST, 0, {}, {}};
        const auto next = [](void* p) {
            Step& s = *static_cast<Step*>(p);
            MDB_val value;
            s.rc = mdb_cursor_get(s.cursor, &s.key, &value, s.op);
            if (s.rc == 0 && s.key.mv_size > 0 && s.key.mv_size <= kMaxKeyBytes) std::memcpy(s.key_bytes, s.key.mv_data, s.key.mv_size);
        };
        std::string problem;
        for (;; step.op = MDB_NEXT) {
            if (const int sig = run_guarded(next, &step)) {
                problem = "the B-tree is corrupt (" + fault_name(sig) + " while listing the keys, after " +
                          std::to_string(key_offsets_.size() - 1) + " keys)";
                break;
            }
            if (step.rc != 0) break;
            if (step.key.mv_size > kMaxKeyBytes || !in_file(step.key.mv_data, step.key.mv_size)) {
                problem = "key " + std::to_string(key_offsets_.size() - 1) + " (" + std::to_string(step.key.mv_size) +
                          " bytes) lies outside the file";
                break;
            }
            if (key_offsets_.size() > meta.main_entries) {
                problem = "the B-tree holds more keys than the " + std::to_string(meta.main_entries) + " its meta page counts";
                break;
            }
            keys_.insert(keys_.end(), step.key_bytes, step.key_bytes + step.key.mv_size);
            key_offsets_.push_back(keys_.size());
        }
        mdb_cursor_close(cursor);
        if (!problem.empty()) throw std::runtime_error(path + ": corrupt LMDB: " + problem);
        if (step.rc != MDB_NOTFOUND) throw lmdb_error(path, "cannot list the keys", step.rc);
    } catch (...) {
        mdb_env_close(env_);
        env_ = nullptr;
        throw;
    }
}

bool LmdbReader::in_file(const void* p, size_t size) const {
    if (maps_.empty()) return true;  // where the map is could not be told: the fault guard alone protects
    const uintptr_t c = reinterpret_cast<uintptr_t>(p);
    for (const uintptr_t base : maps_)
        if (c >= base && c - base <= file_size_ && size <= file_size_ - (c - base)) return true;
    return false;
}

LmdbReader::~LmdbReader() {
    if (env_) mdb_env_close(env_);
}

std::string LmdbReader::key(int64_t i) const {
    return std::string(keys_.data() + key_offsets_[size_t(i)], keys_.data() + key_offsets_[size_t(i) + 1]);
}

std::vector<uint8_t> LmdbReader::value(int64_t i) const {
    ReadTxn read(env_, path_);
    struct Get {
        MDB_txn* txn;
        MDB_dbi dbi;
        MDB_val key, value;
        int rc;
    } get{read.txn, dbi_, {key_offsets_[size_t(i) + 1] - key_offsets_[size_t(i)], const_cast<char*>(keys_.data() + key_offsets_[size_t(i)])},
          {}, 0};
    if (const int sig = run_guarded([](void* p) {
            Get& g = *static_cast<Get*>(p);
            g.rc = mdb_get(g.txn, g.dbi, &g.key, &g.value);
        }, &get))
        throw std::runtime_error(path_ + ": corrupt LMDB: " + fault_name(sig) + " while reading key " + printable(key(i)));
    if (get.rc) throw lmdb_error(path_, "cannot read key " + printable(key(i)), get.rc);
    // The value must lie in the file: liblmdb takes its page number and size from the page.
    if (get.value.mv_size > file_size_ || !in_file(get.value.mv_data, get.value.mv_size))
        throw std::runtime_error(path_ + ": corrupt LMDB: the value of key " + printable(key(i)) + " (" + std::to_string(get.value.mv_size) +
                                 " bytes) lies outside the file");
    std::vector<uint8_t> bytes(get.value.mv_size);
    if (bytes.empty()) return bytes;  // an empty value: nothing to copy (memcpy wants non-null pointers)
    struct Copy {
        void* to;
        const void* from;
        size_t size;
    } copy{bytes.data(), get.value.mv_data, bytes.size()};
    if (const int sig = run_guarded([](void* p) {
            const Copy& c = *static_cast<const Copy*>(p);
            std::memcpy(c.to, c.from, c.size);
        }, &copy))
        throw std::runtime_error(path_ + ": corrupt LMDB: " + fault_name(sig) + " while copying the value of key " + printable(key(i)));
    return bytes;
}

}  // namespace dcgan
