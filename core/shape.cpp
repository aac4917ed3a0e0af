#include "shape.h"

#include <ostream>

#include "error.h"

namespace ganops {

Shape::Shape(std::initializer_list<int64_t> dims) {
    GANOPS_CHECK(dims.size() <= static_cast<size_t>(kMaxDims), "Shape: ", dims.size(),
                 " dimensions given, at most ", kMaxDims, " are supported");
    for (int64_t d : dims) {
        GANOPS_CHECK(d >= 0, "Shape: negative extent ", d);
        dims_[static_cast<size_t>(ndim_++)] = d;
    }
}

int64_t Shape::numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim_; ++i) n *= dims_[static_cast<size_t>(i)];
    return n;
}

Shape Shape::with(int dim, int64_t extent) const {
    GANOPS_CHECK(dim >= 0 && dim < ndim_, "Shape::with: dimension ", dim, " of ", str());
    GANOPS_CHECK(extent >= 0, "Shape::with: negative extent ", extent);
    Shape s = *this;
    s.dims_[static_cast<size_t>(dim)] = extent;
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
    GANOPS_CHECK(extent >= 0, "Shape::prepend: negative extent ", extent);
    Shape s;
    s.dims_[0] = extent;
    s.ndim_ = ndim_ + 1;
    for (int i = 0; i < ndim_; ++i) s.dims_[static_cast<size_t>(i + 1)] = dims_[static_cast<size_t>(i)];
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
