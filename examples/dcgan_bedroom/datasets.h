// The training sources: LSUN LMDB databases, folders of images, IDX files (Fashion-MNIST,
// MNIST) and random "fake" data. Each gives numbered images; the loader (loader.h) decodes
// and resizes them on worker threads, so load() must be safe to call from several threads.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "image.h"

namespace dcgan {

class Dataset {
public:
    virtual ~Dataset() = default;
    virtual int64_t size() const = 0;
    // Image i. Throws DecodeError for an entry that cannot be read or decoded (the loader
    // skips it), anything else for errors that should stop training.
    virtual Image load(int64_t i) const = 0;
    virtual std::string name(int64_t i) const = 0;  // for warnings: a file, or a database and key
    virtual std::string describe() const = 0;       // one line for the start-up banner
};

// Every image file (.jpg, .jpeg, .png, .webp, any case) under `root`, recursively, in sorted
// path order so that a seed fixes the sample order. Throws for a missing or empty folder.
std::unique_ptr<Dataset> open_image_folder(const std::string& root);
// An LMDB of encoded images (LmdbReader); several are concatenated for LSUN's class lists.
std::unique_ptr<Dataset> open_lmdb(const std::vector<std::string>& paths);
// An IDX image file (optionally gzip-compressed): the file itself, or a folder holding
// train-images-idx3-ubyte[.gz].
std::unique_ptr<Dataset> open_idx(const std::string& path);
// `count` random images of size x size x channels, image i a function of (seed, i) alone.
std::unique_ptr<Dataset> make_fake(int64_t count, int64_t size, int64_t channels, uint64_t seed);

struct DatasetChoice {
    std::string dataset;   // lsun | folder | imagenet | fashion-mnist | mnist | idx | fake
    std::string dataroot;
    std::string classes;   // LSUN: comma-separated, e.g. "bedroom" -> dataroot/bedroom_train_lmdb
    int64_t image_size = 64, channels = 3;
    int64_t fake_count = 0;
    uint64_t seed = 0;
};
std::unique_ptr<Dataset> open_dataset(const DatasetChoice& choice);

}  // namespace dcgan
