// The example's data path: decoding, resize/crop against hand-computed pixels, the LMDB,
// folder and IDX readers on files written here, and the threaded batch loader.
#include <zlib.h>

#include <filesystem>

#include "catch_compat.h"
#include "dataset_fixtures.h"
#include "datasets.h"
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
