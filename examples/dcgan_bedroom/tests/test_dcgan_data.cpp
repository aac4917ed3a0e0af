// The example's data path: decoding, resize/crop against hand-computed pixels, the LMDB,
// folder and IDX readers on files written here, and the threaded batch loader.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <csignal>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "catch_compat.h"
#include "dataset_fixtures.h"
#include "datasets.h"
#include "fault_guard.h"
#include "idx_reader.h"
#include "image.h"
#include "lmdb_reader.h"
#include "loader.h"

using namespace dcgan;
namespace fs = std::filesystem;

namespace {
float norm(double v) { return float(v / 127.5 - 1.0); }

Image grey_rows(int64_t w, const std::vector<std::vector<uint8_t>>& rows) {
    Image image{w, int64_t(rows.size()), 1, {}};
    for (const auto& r : rows) image.pixels.insert(image.pixels.end(), r.begin(), r.end());
    return image;
}

double mean_abs_diff(const Image& a, const Image& b) {
    REQUIRE(a.pixels.size() == b.pixels.size());
    double s = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) s += std::abs(double(a.pixels[i]) - double(b.pixels[i]));
    return s / double(a.pixels.size());
}
}  // namespace

TEST_CASE("resize: enlarging is bilinear between pixel centres, clamped at the edges") {
    // 2 -> 4: output centres at 0.25, 0.75, 1.25, 1.75 source pixels: weights (1), (.75, .25), (.25, .75), (1).
    std::vector<float> out(16);
    resize_crop_normalise(grey_rows(2, {{0, 200}, {0, 200}}), 4, 1, out.data());
    for (int y = 0; y < 4; ++y) {
        CHECK(out[size_t(y * 4 + 0)] == Approx(norm(0)));
        CHECK(out[size_t(y * 4 + 1)] == Approx(norm(50)));
        CHECK(out[size_t(y * 4 + 2)] == Approx(norm(150)));
        CHECK(out[size_t(y * 4 + 3)] == Approx(norm(200)));
    }
}

TEST_CASE("resize: shrinking averages with a triangle stretched by the factor (antialiased)") {
    // 4 -> 2, support 2. Output 0 is centred at source 1.0: pixels 0, 1, 2 at distances
    // 0.5, 0.5, 1.5 weigh .75, .75, .25 (sum 1.75); output 1 at 3.0: pixels 1, 2, 3 weigh .25, .75, .75.
    std::vector<float> out(4);
    const std::vector<uint8_t> row = {0, 70, 140, 210};
    resize_crop_normalise(grey_rows(4, {row, row, row, row}), 2, 1, out.data());
    CHECK(out[0] == Approx(norm((0 * .75 + 70 * .75 + 140 * .25) / 1.75)));  // 50
    CHECK(out[1] == Approx(norm(160)));
    CHECK(out[2] == Approx(norm(50)));
    CHECK(out[3] == Approx(norm(160)));

    // Both axes at once on a pattern: the separable weights apply to rows and columns.
    const Image p = fixtures::pattern(4, 4, 1);
    resize_crop_normalise(p, 2, 1, out.data());
    const double w[2][4] = {{.75 / 1.75, .75 / 1.75, .25 / 1.75, 0}, {0, .25 / 1.75, .75 / 1.75, .75 / 1.75}};
    for (int oy = 0; oy < 2; ++oy)
        for (int ox = 0; ox < 2; ++ox) {
            double v = 0;
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x) v += w[oy][y] * w[ox][x] * p.pixels[size_t(y * 4 + x)];
            CHECK(out[size_t(oy * 2 + ox)] == Approx(norm(v)).margin(1e-5));
        }
}

TEST_CASE("resize: the shorter side sets the scale and the longer one is centre-cropped") {
    std::vector<float> out(4);
    resize_crop_normalise(grey_rows(4, {{10, 20, 30, 40}, {50, 60, 70, 80}}), 2, 1, out.data());
    CHECK(out[0] == Approx(norm(20)));
    CHECK(out[1] == Approx(norm(30)));
    CHECK(out[2] == Approx(norm(60)));
    CHECK(out[3] == Approx(norm(70)));
    // Portrait: 2 wide, 4 tall keeps rows 1 and 2.
    resize_crop_normalise(grey_rows(2, {{1, 2}, {3, 4}, {5, 6}, {7, 8}}), 2, 1, out.data());
    CHECK(out[0] == Approx(norm(3)));
    CHECK(out[3] == Approx(norm(6)));
}

TEST_CASE("resize: colour to grey uses ITU-R 601 weights, grey to colour copies the plane") {
    Image rgb{2, 2, 3, {}};
    rgb.pixels = {100, 150, 200, 100, 150, 200, 100, 150, 200, 100, 150, 200};
    std::vector<float> out(12);
    resize_crop_normalise(rgb, 2, 1, out.data());
    // (100 * 19595 + 150 * 38470 + 200 * 7471 + 32768) >> 16 = 141
    for (int i = 0; i < 4; ++i) CHECK(out[size_t(i)] == Approx(norm(141)));
    resize_crop_normalise(rgb, 2, 3, out.data());
    CHECK(out[0] == Approx(norm(100)));
    CHECK(out[4] == Approx(norm(150)));
    CHECK(out[8] == Approx(norm(200)));
    resize_crop_normalise(grey_rows(2, {{9, 99}, {199, 255}}), 2, 3, out.data());
    for (int c = 0; c < 3; ++c) {
        CHECK(out[size_t(c * 4 + 1)] == Approx(norm(99)));
        CHECK(out[size_t(c * 4 + 3)] == Approx(1.0f));
    }
}

TEST_CASE("decode: PNG is lossless, JPEG and WebP close; the format comes from the content") {
    const Image rgb = fixtures::pattern(12, 8, 3), grey = fixtures::pattern(12, 8, 1, 5);
    for (const Image* src : {&rgb, &grey}) {
        const std::vector<uint8_t> png = encode_png(*src);
        CHECK(detect_format(png.data(), png.size()) == ImageFormat::Png);
        const Image back = decode_image(png.data(), png.size(), "x.png");
        CHECK(back.channels == src->channels);
        CHECK(back.pixels == src->pixels);
    }
    const std::vector<uint8_t> jpeg = encode_jpeg(grey, 100);
    CHECK(detect_format(jpeg.data(), jpeg.size()) == ImageFormat::Jpeg);
    const Image jpeg_back = decode_image(jpeg.data(), jpeg.size(), "x.jpg");
    CHECK(jpeg_back.channels == 1);
    CHECK(mean_abs_diff(jpeg_back, grey) < 4);
    const Image smooth = fixtures::pattern(16, 16, 3);  // lossy codecs need it smooth-ish to be close
    const std::vector<uint8_t> webp = encode_webp(smooth, 100);
    CHECK(detect_format(webp.data(), webp.size()) == ImageFormat::Webp);
    const Image webp_back = decode_image(webp.data(), webp.size(), "x.webp");
    CHECK(webp_back.width == 16);
    CHECK(webp_back.channels == 3);
    CHECK(mean_abs_diff(webp_back, smooth) < 40);
}

TEST_CASE("decode: truncated and foreign data throw DecodeError naming the source") {
    const Image rgb = fixtures::pattern(32, 32, 3);
    for (std::vector<uint8_t> bytes : {encode_png(rgb), encode_jpeg(rgb), encode_webp(rgb)}) {
        bytes.resize(bytes.size() / 2);
        CHECK_THROWS_AS(decode_image(bytes.data(), bytes.size(), "half.img"), DecodeError);
        CHECK_THROWS_CONTAINING(decode_image(bytes.data(), bytes.size(), "half.img"), "half.img");
    }
    const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!'};
    CHECK_THROWS_CONTAINING(decode_image(text.data(), text.size(), "notes.png"), "not a PNG, JPEG or WebP");
}

namespace {
void put_be32(std::vector<uint8_t>& out, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}
// A PNG chunk with its CRC, so that libpng accepts the header and our size check decides.
void png_chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& body) {
    put_be32(out, uint32_t(body.size()));
    std::vector<uint8_t> typed(type, type + 4);
    typed.insert(typed.end(), body.begin(), body.end());
    out.insert(out.end(), typed.begin(), typed.end());
    put_be32(out, uint32_t(crc32(0, typed.data(), unsigned(typed.size()))));
}
std::vector<uint8_t> png_claiming(uint32_t width, uint32_t height) {
    std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<uint8_t> ihdr;
    put_be32(ihdr, width);
    put_be32(ihdr, height);
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB
    png_chunk(out, "IHDR", ihdr);
    png_chunk(out, "IDAT", {0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01});
    png_chunk(out, "IEND", {});
    return out;
}
}  // namespace

TEST_CASE("decode: headers claiming huge images are refused before decoding, naming the source") {
    // A PNG of 60000 x 60000 RGB (10 GiB decoded) in 57 bytes.
    const std::vector<uint8_t> png = png_claiming(60000, 60000);
    CHECK_THROWS_AS(decode_image(png.data(), png.size(), "bomb.png"), DecodeError);
    CHECK_THROWS_CONTAINING(decode_image(png.data(), png.size(), "bomb.png"),
                            "bomb.png: PNG of 60000 x 60000 x 3 would decode to more than 256 MiB");
    // The same header at a sane size passes the check (and then fails on its tiny data).
    const std::vector<uint8_t> small = png_claiming(4, 4);
    CHECK_THROWS_CONTAINING(decode_image(small.data(), small.size(), "small.png"), "corrupt or truncated PNG");

    // A real JPEG whose frame header (SOF0) is patched to 65000 x 65000.
    std::vector<uint8_t> jpeg = encode_jpeg(fixtures::pattern(16, 16, 3), 90);
    size_t sof = 2;
    while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xFF && jpeg[sof + 1] == 0xC0)) ++sof;
    REQUIRE(sof + 9 < jpeg.size());
    for (const size_t at : {sof + 5, sof + 7}) jpeg[at] = 0xFD, jpeg[at + 1] = 0xE8;  // 65000
    CHECK_THROWS_CONTAINING(decode_image(jpeg.data(), jpeg.size(), "key 0042"),
                            "key 0042: JPEG of 65000 x 65000 x 3 would decode to more than 256 MiB");

    // A lossy WebP whose VP8 frame is patched to 16000 x 16000 (14-bit fields at bytes 26 and 28).
    std::vector<uint8_t> webp = encode_webp(fixtures::pattern(16, 16, 3), 90);
    REQUIRE(std::string(webp.begin() + 12, webp.begin() + 16) == "VP8 ");
    for (const size_t at : {size_t(26), size_t(28)}) webp[at] = 16000 & 0xFF, webp[at + 1] = 16000 >> 8;
    CHECK_THROWS_CONTAINING(decode_image(webp.data(), webp.size(), "w.webp"), "w.webp: WebP of 16000 x 16000 x 3");

    // Zero-sized images are never handed on.
    CHECK_THROWS_CONTAINING(check_decoded_size("empty.png", "PNG", 0, 7, 3), "empty.png: PNG of zero size (0 x 7)");
    CHECK_NOTHROW(check_decoded_size("ok.png", "PNG", 9000, 9000, 3));
}

TEST_CASE("LMDB: keys in order, values as written, WebP and JPEG decoded, folder or file path") {
    const std::string dir = fixtures::temp_dir("lmdb");
    const Image colour = fixtures::pattern(20, 16, 3, 1), grey = fixtures::pattern(16, 20, 1, 2);
    const std::vector<uint8_t> webp = encode_webp(colour, 100), jpeg = encode_jpeg(grey, 100), png = encode_png(colour);
    fixtures::write_lmdb(dir + "/bedroom_train_lmdb", {{"k2", png}, {"k0", webp}, {"k1", jpeg}});

    LmdbReader reader(dir + "/bedroom_train_lmdb");
    REQUIRE(reader.size() == 3);
    CHECK(reader.key(0) == "k0");
    CHECK(reader.key(2) == "k2");
    CHECK(reader.value(0) == webp);
    CHECK(reader.value(1) == jpeg);
    LmdbReader by_file(dir + "/bedroom_train_lmdb/data.mdb");
    CHECK(by_file.value(2) == png);

    // As the program opens it: --dataset lsun --dataroot DIR --classes bedroom.
    const auto data = open_dataset({.dataset = "lsun", .dataroot = dir, .classes = "bedroom"});
    REQUIRE(data->size() == 3);
    const Image a = data->load(0), b = data->load(1), c = data->load(2);
    CHECK(a.width == 20);
    CHECK(a.channels == 3);
    CHECK(mean_abs_diff(a, colour) < 40);
    CHECK(b.channels == 1);
    CHECK(mean_abs_diff(b, grey) < 4);
    CHECK(c.pixels == colour.pixels);
    CHECK(data->name(1).find("k1") != std::string::npos);
}

TEST_CASE("LMDB: missing, empty, corrupt and truncated databases give messages, not crashes") {
    const std::string dir = fixtures::temp_dir("lmdb_bad");
    CHECK_THROWS_CONTAINING(LmdbReader(dir + "/nothing_lmdb"), "no LMDB database");
    CHECK_THROWS_CONTAINING(open_dataset({.dataset = "lsun", .dataroot = dir, .classes = "kitchen"}), "kitchen_train_lmdb");

    fixtures::write_lmdb(dir + "/empty", {});
    CHECK_THROWS_CONTAINING(open_lmdb({dir + "/empty"}), "empty");

    fs::create_directories(dir + "/garbage");
    std::vector<uint8_t> junk(3 * 4096);
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = uint8_t(i * 7 + 3);
    fixtures::write_bytes(dir + "/garbage/data.mdb", junk);
    CHECK_THROWS_CONTAINING(LmdbReader(dir + "/garbage"), "not an LMDB database");

    std::vector<std::pair<std::string, std::vector<uint8_t>>> entries;
    for (int i = 0; i < 40; ++i) entries.emplace_back("key" + std::to_string(100 + i), encode_png(fixtures::pattern(40, 40, 3, i)));
    fixtures::write_lmdb(dir + "/cut", entries);
    REQUIRE(LmdbReader(dir + "/cut").size() == 40);
    fs::resize_file(dir + "/cut/data.mdb", 4 * 4096);
    CHECK_THROWS_CONTAINING(LmdbReader(dir + "/cut"), "truncated");
    fs::remove_all(dir);
}

namespace {
std::vector<uint8_t> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
template <class T>
void poke(std::vector<uint8_t>& bytes, size_t at, T value) {
    std::memcpy(bytes.data() + at, &value, sizeof value);
}
// Offsets in an LMDB file of page size 4096: meta page `m` starts at m * 4096, MDB_meta 16
// bytes into it (magic +0, version +4, page size +24, main root +112, last page +120, txn id +128).
constexpr size_t kMeta0 = 16, kMeta1 = 4096 + 16;
}  // namespace

TEST_CASE("LMDB: each meta page is checked against the file before liblmdb opens it") {
    const std::string dir = fixtures::temp_dir("lmdb_meta");
    std::vector<std::pair<std::string, std::vector<uint8_t>>> entries;
    for (int i = 0; i < 30; ++i) entries.emplace_back("key" + std::to_string(100 + i), std::vector<uint8_t>(300, uint8_t(i)));
    fixtures::write_lmdb(dir + "/ok", entries);
    const std::vector<uint8_t> good = read_all(dir + "/ok/data.mdb");
    REQUIRE(good.size() >= 4 * 4096);
    uint64_t txn0, txn1;
    std::memcpy(&txn0, good.data() + kMeta0 + 128, 8);
    std::memcpy(&txn1, good.data() + kMeta1 + 128, 8);
    const size_t newer = txn1 > txn0 ? kMeta1 : kMeta0, older = txn1 > txn0 ? kMeta0 : kMeta1;
    auto opened = [&](const std::vector<uint8_t>& bytes) {
        fixtures::write_bytes(dir + "/bad.mdb", bytes);
        LmdbReader reader(dir + "/bad.mdb");
        return reader.size();
    };
    CHECK(opened(good) == 30);

    std::vector<uint8_t> b = good;
    poke<uint32_t>(b, kMeta0 + 24, 0);  // page size 0: liblmdb divides by it
    CHECK_THROWS_CONTAINING(opened(b), "bad.mdb: corrupt LMDB: meta page 0: page size 0 is not a power of two");
    b = good;
    poke<uint32_t>(b, kMeta0 + 4, 7);
    CHECK_THROWS_CONTAINING(opened(b), "meta page 0: LMDB data version 7");
    b = good;
    poke<uint64_t>(b, newer + 120, uint64_t(1) << 40);  // a last page far past the end of the file
    CHECK_THROWS_CONTAINING(opened(b), "(the newer one, transaction " + std::to_string(std::max(txn0, txn1)) + "): its last page 1099511627776 ends at byte 4503599627374592, but the file has " + std::to_string(good.size()) + " bytes (truncated?)");
    b = good;
    poke<uint64_t>(b, newer + 112, 1000000);  // the main tree's root outside the file
    CHECK_THROWS_CONTAINING(opened(b), "main tree root page 1000000 is outside pages 2..");
    b = good;
    poke<uint16_t>(b, newer + 72 + 6, 500);  // a tree depth beyond liblmdb's cursor stack
    CHECK_THROWS_CONTAINING(opened(b), "main tree depth 500");
    b = good;
    poke<uint64_t>(b, newer + 72 + 32, uint64_t(1) << 60);  // an entry count that would size the key list
    CHECK_THROWS_CONTAINING(opened(b), "entries cannot fit");
    // The older copy is not used: damage there beyond the magic does not matter to liblmdb.
    b = good;
    poke<uint64_t>(b, older + 120, uint64_t(1) << 40);
    CHECK(opened(b) == 30);
    b = good;
    poke<uint32_t>(b, older, 0x12345678);
    CHECK_THROWS_CONTAINING(opened(b), "not an LMDB database (bad magic number)");
    fs::remove_all(dir);
}

TEST_CASE("LMDB: a value whose size or place is corrupt is an error naming the key") {
    const std::string dir = fixtures::temp_dir("lmdb_value");
    fixtures::write_lmdb(dir + "/db", {{"a", {1, 2, 3}}, {"big", std::vector<uint8_t>(6000, 0x5a)}, {"c", {4}}});
    std::vector<uint8_t> bytes = read_all(dir + "/db/data.mdb");
    // The leaf node of "big": mn_lo, mn_hi (data size), mn_flags, mn_ksize, then the key.
    size_t node = 0;
    for (size_t i = 2 * 4096; i + 3 < bytes.size() && !node; ++i)
        if (bytes[i] == 3 && bytes[i + 1] == 0 && std::memcmp(&bytes[i + 2], "big", 3) == 0) node = i - 6;
    REQUIRE(node != 0);
    poke<uint16_t>(bytes, node, 0xFFF0);
    poke<uint16_t>(bytes, node + 2, 0xFFFF);  // 4 GiB
    fixtures::write_bytes(dir + "/bad.mdb", bytes);
    LmdbReader reader(dir + "/bad.mdb");
    REQUIRE(reader.size() == 3);
    CHECK(reader.value(0) == std::vector<uint8_t>{1, 2, 3});
    CHECK_THROWS_CONTAINING(reader.value(1), "bad.mdb: corrupt LMDB: the value of key big (4294967280 bytes) lies outside the file");
    // An empty value is a value (the fuzzer found it copied with a null pointer: UB).
    fixtures::write_lmdb(dir + "/empty_value", {{"e", {}}, {"f", {9}}});
    LmdbReader with_empty(dir + "/empty_value");
    CHECK(with_empty.value(0).empty());
    CHECK(with_empty.value(1) == std::vector<uint8_t>{9});
    fs::remove_all(dir);
}

TEST_CASE("LMDB: damaged tree pages never crash the reader") {
    // 300 copies of a database with bytes of its tree pages overwritten (a seeded stand-in
    // for the fuzzer, fuzz/fuzz_lmdb.cpp): opening and reading each either works or throws.
    const std::string dir = fixtures::temp_dir("lmdb_damage");
    std::vector<std::pair<std::string, std::vector<uint8_t>>> entries;
    for (int i = 0; i < 120; ++i) entries.emplace_back(std::to_string(1000 + i), std::vector<uint8_t>(size_t(i % 9 + 1), uint8_t(i)));
    entries.emplace_back("huge", std::vector<uint8_t>(9000, 7));
    fixtures::write_lmdb(dir + "/db", entries);
    const std::vector<uint8_t> good = read_all(dir + "/db/data.mdb");
    uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&] { state ^= state << 13, state ^= state >> 7, state ^= state << 17; return state; };
    int opened = 0, failed = 0;
    for (int round = 0; round < 300; ++round) {
        std::vector<uint8_t> b = good;
        for (int k = 0; k < 1 + round % 8; ++k) {
            const size_t at = 2 * 4096 + size_t(next() % (b.size() - 2 * 4096));
            b[at] = uint8_t(next());
        }
        fixtures::write_bytes(dir + "/bad.mdb", b);
        try {
            LmdbReader reader(dir + "/bad.mdb");
            for (int64_t i = 0; i < reader.size(); ++i) {
                try {
                    reader.value(i);
                } catch (const std::runtime_error&) {
                }
            }
            ++opened;
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()).find("bad.mdb") != std::string::npos);
            ++failed;
        }
    }
    CHECK(opened + failed == 300);
    CHECK(opened > 0);
    fs::remove_all(dir);
}

TEST_CASE("fault guard: SIGSEGV and SIGBUS inside a guarded call end it, and the old handlers come back") {
    struct sigaction before {};
    sigaction(SIGSEGV, nullptr, &before);
    const long page = sysconf(_SC_PAGESIZE);
    // An inaccessible page (SIGSEGV), and a mapping of an empty file (SIGBUS when touched).
    void* none = mmap(nullptr, size_t(page), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(none != MAP_FAILED);
    const std::string dir = fixtures::temp_dir("fault_guard");
    fixtures::write_bytes(dir + "/empty", {});
    const int fd = ::open((dir + "/empty").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    void* past_end = mmap(nullptr, size_t(page), PROT_READ, MAP_SHARED, fd, 0);
    REQUIRE(past_end != MAP_FAILED);
    {
        FaultGuardScope scope;
        struct sigaction during {};
        sigaction(SIGSEGV, nullptr, &during);
        CHECK(during.sa_sigaction != before.sa_sigaction);
        CHECK(run_guarded([](void*) {}, nullptr) == 0);
        CHECK(run_guarded(+[](void* p) { (void)*static_cast<volatile uint8_t*>(p); }, none) == SIGSEGV);
        CHECK(run_guarded(+[](void* p) { (void)*static_cast<volatile uint8_t*>(p); }, past_end) == SIGBUS);
        // The guard works again after a jump (the signal mask was restored).
        CHECK(run_guarded(+[](void* p) { (void)*static_cast<volatile uint8_t*>(p); }, none) == SIGSEGV);
    }
    struct sigaction after {};
    sigaction(SIGSEGV, nullptr, &after);
    CHECK(after.sa_sigaction == before.sa_sigaction);
    CHECK(after.sa_flags == before.sa_flags);
    munmap(none, size_t(page));
    munmap(past_end, size_t(page));
    ::close(fd);
    fs::remove_all(dir);
}

TEST_CASE("folder: every image below the root, recursively, sorted; other files ignored") {
    const std::string dir = fixtures::temp_dir("folder");
    fs::create_directories(dir + "/b/deeper");
    fixtures::write_bytes(dir + "/a.png", encode_png(fixtures::pattern(8, 8, 3, 1)));
    fixtures::write_bytes(dir + "/b/c.JPG", encode_jpeg(fixtures::pattern(8, 8, 1, 2)));
    fixtures::write_bytes(dir + "/b/deeper/d.webp", encode_webp(fixtures::pattern(8, 8, 3, 3)));
    fixtures::write_bytes(dir + "/b/readme.txt", {'h', 'i'});
    const auto data = open_dataset({.dataset = "folder", .dataroot = dir, .classes = ""});
    REQUIRE(data->size() == 3);
    CHECK(data->name(0) == dir + "/a.png");
    CHECK(data->name(2) == dir + "/b/deeper/d.webp");
    CHECK(data->load(0).pixels == fixtures::pattern(8, 8, 3, 1).pixels);
    CHECK(data->load(1).channels == 1);

    fs::create_directories(dir + "/empty/sub");
    CHECK_THROWS_CONTAINING(open_image_folder(dir + "/empty"), "holds no");
    CHECK_THROWS_CONTAINING(open_image_folder(dir + "/missing"), "does not exist");
    fs::remove_all(dir);
}

TEST_CASE("IDX: plain and gzip files, and errors for truncated or foreign files") {
    const std::string dir = fixtures::temp_dir("idx");
    std::vector<uint8_t> pixels(3 * 4 * 5);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 3 + 1);
    const std::vector<uint8_t> bytes = fixtures::idx_bytes(3, 4, 5, pixels);
    fixtures::write_bytes(dir + "/plain-idx3-ubyte", bytes);
    gzFile gz = gzopen((dir + "/train-images-idx3-ubyte.gz").c_str(), "wb");
    gzwrite(gz, bytes.data(), unsigned(bytes.size()));
    gzclose(gz);

    const IdxImages plain = read_idx_images(dir + "/plain-idx3-ubyte");
    CHECK(plain.count == 3);
    CHECK(plain.rows == 4);
    CHECK(plain.cols == 5);
    CHECK(plain.pixels == pixels);
    const auto data = open_dataset({.dataset = "fashion-mnist", .dataroot = dir, .classes = ""});  // finds the .gz in the folder
    REQUIRE(data->size() == 3);
    const Image second = data->load(1);
    CHECK(second.width == 5);
    CHECK(second.height == 4);
    CHECK(second.pixels[0] == pixels[20]);

    std::vector<uint8_t> cut = bytes;
    cut.resize(cut.size() - 7);
    fixtures::write_bytes(dir + "/cut-idx3-ubyte", cut);
    CHECK_THROWS_CONTAINING(read_idx_images(dir + "/cut-idx3-ubyte"), "truncated");
    fixtures::write_bytes(dir + "/labels-idx1-ubyte", {0, 0, 8, 1, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0});
    CHECK_THROWS_CONTAINING(read_idx_images(dir + "/labels-idx1-ubyte"), "bad magic");
    CHECK_THROWS_CONTAINING(open_idx(dir + "/nothing"), "does not exist");
    fs::remove_all(dir);
}

TEST_CASE("IDX: a header is checked against the file before anything is allocated") {
    const std::string dir = fixtures::temp_dir("idx_header");
    // 32768 images of 256 x 256 (2 GiB) claimed by a 20-byte file: refused by its length,
    // before the 2 GiB buffer the reader used to allocate (and zero) first.
    std::vector<uint8_t> bytes = fixtures::idx_bytes(32768, 256, 256, {1, 2, 3, 4});
    fixtures::write_bytes(dir + "/big-idx3-ubyte", bytes);
    CHECK_THROWS_CONTAINING(read_idx_images(dir + "/big-idx3-ubyte"),
                            "truncated IDX file (20 bytes, the header 32768 x 256 x 256 needs 2147483664)");
    // The same claim in a gzip stream: read in chunks, it fails where the data ends.
    gzFile gz = gzopen((dir + "/big-idx3-ubyte.gz").c_str(), "wb");
    gzwrite(gz, bytes.data(), unsigned(bytes.size()));
    gzclose(gz);
    CHECK_THROWS_CONTAINING(read_idx_images(dir + "/big-idx3-ubyte.gz"), "the data ends after 4");
    // Above the cap (65536 x 256 x 256 = 2^32 values), or a zero extent: refused from the header alone.
    fixtures::write_bytes(dir + "/huge-idx3-ubyte", fixtures::idx_bytes(65536, 256, 256, {}));
    CHECK_THROWS_CONTAINING(read_idx_images(dir + "/huge-idx3-ubyte"), "implausible IDX dimensions 65536 x 256 x 256");
    fixtures::write_bytes(dir + "/max-idx3-ubyte", fixtures::idx_bytes(0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, {}));
    CHECK_THROWS_CONTAINING(read_idx_images(dir + "/max-idx3-ubyte"), "implausible IDX dimensions 4294967295 (empty, or more than 2147483648 values)");
    fixtures::write_bytes(dir + "/zero-idx3-ubyte", fixtures::idx_bytes(3, 0, 5, {}));
    CHECK_THROWS_CONTAINING(read_idx_images(dir + "/zero-idx3-ubyte"), "implausible IDX dimensions 3 x 0");
    fs::remove_all(dir);
}

TEST_CASE("loader: batches in order, the same for any number of workers; unreadable images skipped and counted") {
    const std::string dir = fixtures::temp_dir("loader");
    for (int i = 0; i < 10; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "/img%02d.png", i);
        fixtures::write_bytes(dir + name, encode_png(fixtures::pattern(10, 12, 3, 20 * i)));
    }
    std::vector<uint8_t> broken = encode_png(fixtures::pattern(10, 12, 3, 999));
    broken.resize(broken.size() / 2);
    fixtures::write_bytes(dir + "/img03.png", broken);  // replaced by a truncated file
    const auto data = open_image_folder(dir);
    const std::vector<int64_t> order = {9, 3, 0, 7, 5, 1, 2, 8, 4, 6};
    const LoaderOptions options{.batch_size = 3, .image_size = 8, .channels = 3, .workers = 1};

    std::vector<std::vector<float>> expected;  // batch 1 and 2, built sample by sample
    SkipLog direct_skips;
    for (int64_t b = 1; b < 3; ++b) {
        std::vector<float> batch(size_t(3 * 3 * 64));
        for (int64_t i = 0; i < 3; ++i) load_sample(*data, order[size_t(b * 3 + i)], options, batch.data() + i * 192, direct_skips);
        expected.push_back(batch);
    }
    CHECK(direct_skips.count() == 0);  // image 3 is in batch 0 only
    for (int workers : {1, 3}) {
        SkipLog skips;
        LoaderOptions o = options;
        o.workers = workers;
        BatchLoader loader(*data, o, order, 0, 3, skips);
        const std::vector<float> first = loader.next().to_vector();
        CHECK(loader.next().to_vector() == expected[0]);
        CHECK(loader.next().to_vector() == expected[1]);
        CHECK(skips.count() == 1);
        // Sample 1 of batch 0 was image 3: its place went to image 4, the next readable one.
        std::vector<float> image4(192);
        SkipLog none;
        load_sample(*data, 4, o, image4.data(), none);
        CHECK(std::vector<float>(first.begin() + 192, first.begin() + 384) == image4);
        CHECK(first[0] != first[192]);
    }
    fs::remove_all(dir);
}
