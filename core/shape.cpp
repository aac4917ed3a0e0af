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
