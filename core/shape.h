// The extent of a tensor: 0-d (a scalar) up to 4-d, the most any op here needs (NCHW).
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>

namespace ganops {

class Shape {
public:
    static constexpr int kMaxDims = 4;
    // The most elements a shape may describe: 2^60, so that the byte count of any dtype
    // (at most 8 bytes) and every index stays within int64_t. Every constructor checks the
    // product of the extents against it, so numel() never overflows anywhere else.
    static constexpr int64_t kMaxNumel = int64_t(1) << 60;

    Shape() = default;  // 0-d: one element
    Shape(std::initializer_list<int64_t> dims);

    int ndim() const { return ndim_; }
    int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
    int64_t numel() const;
    const int64_t* begin() const { return dims_.data(); }
    const int64_t* end() const { return dims_.data() + ndim_; }
    std::string str() const;  // "[2, 3, 64, 64]"
    Shape with(int dim, int64_t extent) const;  // a copy with one extent changed
    Shape drop_front() const;                   // [n, a, b] -> [a, b]
    Shape prepend(int64_t extent) const;        // [a, b] -> [extent, a, b]

    friend bool operator==(const Shape& a, const Shape& b) {
        if (a.ndim_ != b.ndim_) return false;
        for (int i = 0; i < a.ndim_; ++i)
            if (a.dims_[static_cast<size_t>(i)] != b.dims_[static_cast<size_t>(i)]) return false;
        return true;
    }

private:
    void check_extents(const char* op) const;  // no negative extent, product at most kMaxNumel

    std::array<int64_t, kMaxDims> dims_{};
    int ndim_ = 0;
};

// a * b for sizes (extents, counts, byte counts): throws ganops::Error naming `what` when
// either is negative or the product exceeds Shape::kMaxNumel.
int64_t checked_size_product(int64_t a, int64_t b, const char* what);

std::ostream& operator<<(std::ostream& os, const Shape& s);

}  // namespace ganops
