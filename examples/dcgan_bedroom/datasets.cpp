#include "datasets.h"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "idx_reader.h"
#include "lmdb_reader.h"

namespace dcgan {

namespace fs = std::filesystem;

namespace {

class FolderDataset : public Dataset {
public:
    explicit FolderDataset(const std::string& root) : root_(root) {
        std::error_code ec;
        if (!fs::is_directory(root, ec)) throw std::runtime_error("dataset folder " + root + " does not exist");
        fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink, ec), end;
        if (ec) throw std::runtime_error("cannot list " + root + ": " + ec.message());
        for (; it != end; it.increment(ec)) {
            if (ec) throw std::runtime_error("cannot list " + root + ": " + ec.message());
            std::string ext = it->path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
            if ((ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp") && it->is_regular_file(ec))
                files_.push_back(it->path().string());
        }
        if (files_.empty()) throw std::runtime_error("dataset folder " + root + " holds no .jpg, .jpeg, .png or .webp images");
        std::sort(files_.begin(), files_.end());
    }
    int64_t size() const override { return int64_t(files_.size()); }
    Image load(int64_t i) const override {
        std::vector<uint8_t> bytes;
        try {
            bytes = read_file(files_[size_t(i)]);
        } catch (const std::exception& e) {
            throw DecodeError(e.what());
        }
        return decode_image(bytes.data(), bytes.size(), files_[size_t(i)]);
    }
    std::string name(int64_t i) const override { return files_[size_t(i)]; }
    std::string describe() const override { return "folder " + root_ + ": " + std::to_string(files_.size()) + " images"; }

private:
    std::string root_;
    std::vector<std::string> files_;
};

class LmdbDataset : public Dataset {
public:
    explicit LmdbDataset(const std::vector<std::string>& paths) {
        if (paths.empty()) throw std::runtime_error("no LMDB database given");
        starts_.push_back(0);
        for (const std::string& p : paths) {
            readers_.push_back(std::make_unique<LmdbReader>(p));
            if (readers_.back()->size() == 0) throw std::runtime_error(p + ": the LMDB database is empty");
            starts_.push_back(starts_.back() + readers_.back()->size());
        }
    }
    int64_t size() const override { return starts_.back(); }
    Image load(int64_t i) const override {
        const auto [reader, j] = locate(i);
        const std::vector<uint8_t> bytes = reader->value(j);
        return decode_image(bytes.data(), bytes.size(), reader->path() + " key " + reader->key(j));
    }
    std::string name(int64_t i) const override {
        const auto [reader, j] = locate(i);
        return reader->path() + " key " + reader->key(j);
    }
    std::string describe() const override {
        std::string s = "LMDB";
        for (const auto& r : readers_) s += " " + r->path();
        return s + ": " + std::to_string(size()) + " images";
    }

private:
    std::pair<const LmdbReader*, int64_t> locate(int64_t i) const {
        const size_t r = size_t(std::upper_bound(starts_.begin(), starts_.end(), i) - starts_.begin()) - 1;
        return {readers_[r].get(), i - starts_[r]};
    }
    std::vector<std::unique_ptr<LmdbReader>> readers_;
    std::vector<int64_t> starts_;
};

class IdxDataset : public Dataset {
public:
    explicit IdxDataset(const std::string& path) : path_(path), images_(read_idx_images(path)) {}
    int64_t size() const override { return images_.count; }
    Image load(int64_t i) const override {
        const size_t plane = size_t(images_.rows * images_.cols);
        const uint8_t* p = images_.pixels.data() + size_t(i) * plane;
        return Image{images_.cols, images_.rows, 1, std::vector<uint8_t>(p, p + plane)};
    }
    std::string name(int64_t i) const override { return path_ + " image " + std::to_string(i); }
    std::string describe() const override {
        return "IDX " + path_ + ": " + std::to_string(images_.count) + " images of " + std::to_string(images_.rows) + "x" +
               std::to_string(images_.cols);
    }

private:
    std::string path_;
    IdxImages images_;
};

class FakeDataset : public Dataset {
public:
    FakeDataset(int64_t count, int64_t size, int64_t channels, uint64_t seed)
        : count_(count), size_(size), channels_(channels), seed_(seed) {}
    int64_t size() const override { return count_; }
    Image load(int64_t i) const override {
        Image image{size_, size_, channels_, std::vector<uint8_t>(size_t(size_ * size_ * channels_))};
        // Philox blocks indexed by (image, position): any image without drawing the others.
        const uint64_t blocks_per_image = (image.pixels.size() + 15) / 16;  // 16 bytes a block
        for (size_t k = 0; k < image.pixels.size(); k += 16) {
            const auto b = ganops::philox::block_at(seed_, uint64_t(i) * blocks_per_image + k / 16);
            const uint32_t words[4] = {b.x, b.y, b.z, b.w};
            for (size_t j = 0; j < 16 && k + j < image.pixels.size(); ++j) image.pixels[k + j] = uint8_t(words[j / 4] >> (8 * (j % 4)));
        }
        return image;
    }
    std::string name(int64_t i) const override { return "fake image " + std::to_string(i); }
    std::string describe() const override { return "fake: " + std::to_string(count_) + " random images"; }

private:
    int64_t count_, size_, channels_;
    uint64_t seed_;
};

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::stringstream in(s);
    for (std::string part; std::getline(in, part, sep);)
        if (!part.empty()) parts.push_back(part);
    return parts;
}

}  // namespace

std::unique_ptr<Dataset> open_image_folder(const std::string& root) { return std::make_unique<FolderDataset>(root); }
std::unique_ptr<Dataset> open_lmdb(const std::vector<std::string>& paths) { return std::make_unique<LmdbDataset>(paths); }

std::unique_ptr<Dataset> open_idx(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        for (const char* name : {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"})
            if (fs::exists(fs::path(path) / name, ec)) return std::make_unique<IdxDataset>((fs::path(path) / name).string());
        throw std::runtime_error("dataset folder " + path + " holds no train-images-idx3-ubyte[.gz] (for Fashion-MNIST: " +
                                 "apt-get install dataset-fashion-mnist, or pass --dataroot)");
    }
    if (!fs::exists(path, ec)) throw std::runtime_error("dataset " + path + " does not exist");
    return std::make_unique<IdxDataset>(path);
}

std::unique_ptr<Dataset> make_fake(int64_t count, int64_t size, int64_t channels, uint64_t seed) {
    return std::make_unique<FakeDataset>(count, size, channels, seed);
}

std::unique_ptr<Dataset> open_dataset(const DatasetChoice& c) {
    if (c.dataset == "fake") return make_fake(c.fake_count, c.image_size, c.channels, c.seed);
    if (c.dataset == "fashion-mnist" || c.dataset == "mnist" || c.dataset == "idx") return open_idx(c.dataroot);
    if (c.dataset == "folder" || c.dataset == "imagenet") return open_image_folder(c.dataroot);
    if (c.dataset == "lsun") {
        std::error_code ec;
        // dataroot may itself be a database; otherwise pytorch/examples' layout, <class>_train_lmdb.
        if (fs::exists(fs::path(c.dataroot) / "data.mdb", ec) || fs::is_regular_file(c.dataroot, ec)) return open_lmdb({c.dataroot});
        std::vector<std::string> paths;
        for (const std::string& cls : split(c.classes, ','))
            paths.push_back((fs::path(c.dataroot) / (cls.find('_') == std::string::npos ? cls + "_train_lmdb" : cls + "_lmdb")).string());
        if (paths.empty()) throw std::runtime_error("--classes names no LSUN class");
        return open_lmdb(paths);
    }
    throw std::runtime_error("unknown dataset \"" + c.dataset + "\"");
}

}  // namespace dcgan
