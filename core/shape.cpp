#include "shape.h"

#include <ostream>

#include "error.h"

namespace ganops {

Shape::Shape(std::initializer_list<int64_t> dims) {
    GANOPS_CHECK(dims.size() <= static_cast<size_t>(kMaxDims), "Shape: ", dims.size(),
                 " dimensions given, at most ", kMaxDims, " are supported");
    for (int64_t d : dims) dims_[static_cast<size_t>(ndim_++)] = d;
    check_extents("Shape");
}

void Shape::check_extents(const char* op) const {
    int64_t n = 1;
    for (int i = 0; i < ndim_; ++i) {
        const int64_t d = dims_[static_cast<size_t>(i)];
        GANOPS_CHECK(d >= 0, op, ": negative extent ", d, " in shape ", str());
        // A zero extent anywhere makes the product 0, whatever the others are, but each extent
        // alone must still be in range (an index into it must fit int64_t too).
        GANOPS_CHECK(d <= kMaxNumel, op, ": shape ", str(), " has an extent above 2^60");
        if (n != 0 && d != 0)
            GANOPS_CHECK(n <= kMaxNumel / d, op, ": shape ", str(), " has more than 2^60 elements");
        n *= d;
    }
}

int64_t checked_size_product(int64_t a, int64_t b, const char* what) {
    GANOPS_CHECK(a >= 0 && b >= 0, what, ": negative size (", a, " x ", b, ")");
    GANOPS_CHECK(a == 0 || b <= Shape::kMaxNumel / a, what, ": ", a, " x ", b, " is more than 2^60");
    return a * b;
}

int64_t Shape::numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim_; ++i) n *= dims_[static_cast<size_t>(i)];
    return n;
}

Shape Shape::with(int dim, int64_t extent) const {
    GANOPS_CHECK(dim >= 0 && dim < ndim_, "Shape::with: dimension ", dim, " of ", str());
    Shape s = *this;
    s.dims_[static_cast<size_t>(dim)] = extent;
    s.check_extents("Shape::with");
    return s;
}

Shape Shape::drop_front() const {
    GANOPS_CHECK(ndim_ >= 1, "Shape::drop_front: ", str(), " has no dimension to drop");
    Shape s;
    for (int i = 1; i < ndim_; ++i) s.dims_[static_cast<size_t>(s.ndim_++)] = dims_[static_cast<size_t>(i)];
    return s;
}

Shape Shape::prepend(int64_t extent) const {
    GANOPS_CHECK(ndim_ < kMaxDims, "Shape::prepend: ", str(), " already has ", kMaxDims, " dimensions");
    Shape s;
    s.dims_[0] = extent;
    s.ndim_ = ndim_ + 1;
    for (int i = 0; i < ndim_; ++i) s.dims_[static_cast<size_t>(i + 1)] = dims_[static_cast<size_t>(i)];
    s.check_extents("Shape::prepend");
    return s;
}

std::string Shape::str() const {
    std::string s = "[";
    for (int i = 0; i < ndim_; ++i) {
        if (i) s += ", ";
        s += std::to_string(dims_[static_cast<size_t>(i)]);
    }
    return s + "]";
}

std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

}  // namespace ganops
