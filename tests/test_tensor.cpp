#include "test_util.h"

using namespace ganops;

TEST_CASE("shapes report their extents and refuse what they cannot hold") {
    const Shape s{2, 3, 5, 7};
    CHECK(s.ndim() == 4);
    CHECK(s.numel() == 210);
    CHECK(s.str() == "[2, 3, 5, 7]");
    CHECK(Shape{}.numel() == 1);
    CHECK(Shape{}.str() == "[]");
    CHECK(s.with(1, 9) == Shape{2, 9, 5, 7});
    CHECK_FALSE(s == Shape{2, 3, 5});
    CHECK_THROWS_CONTAINING((Shape{1, 2, 3, 4, 5}), "at most 4");
    CHECK_THROWS_CONTAINING((Shape{2, -1}), "negative extent -1");
}

TEST_CASE("a shape whose element count would overflow is refused, naming the shape") {
    const int64_t big = int64_t(1) << 32;
    // [2^32, 2^32] once wrapped to 0 elements; [2^62, 4] float32 once allocated 64 bytes
    // and let zeros() write 2^64 bytes (a heap overflow under ASan).
    CHECK_THROWS_CONTAINING((Shape{big, big}), "[4294967296, 4294967296] has more than 2^60 elements");
    CHECK_THROWS_CONTAINING((Tensor::zeros({int64_t(1) << 62, 4})), "[4611686018427387904, 4]");
    CHECK_THROWS_CONTAINING((Tensor::full({int64_t(1) << 31, int64_t(1) << 31, 2, 2}, 1.0)), "more than 2^60");
    CHECK_THROWS_CONTAINING((Shape{3, INT64_MAX}), "extent above 2^60");
    CHECK_THROWS_CONTAINING((Shape{2, 3}.with(1, int64_t(1) << 60)), "more than 2^60");
    CHECK_THROWS_CONTAINING((Shape{2, 3}.with(0, -5)), "negative extent -5 in shape [-5, 3]");
    CHECK_THROWS_CONTAINING((Shape{big, big / 4}.prepend(big)), "more than 2^60");
    // A zero extent makes any product 0; the limit is exactly 2^60 elements.
    CHECK((Shape{0, int64_t(1) << 60, 7}).numel() == 0);
    CHECK((Shape{int64_t(1) << 30, int64_t(1) << 30}).numel() == int64_t(1) << 60);
    // Within the limit, a tensor too large for memory is an error naming the shape, not a crash.
    CHECK_THROWS_CONTAINING((Tensor::empty({int64_t(1) << 30, int64_t(1) << 30}, DType::F64)),
                            "cannot allocate [1073741824, 1073741824] float64");
    CHECK(checked_size_product(3, 5, "x") == 15);
    CHECK_THROWS_CONTAINING(checked_size_product(big, big, "the batch"), "the batch: 4294967296 x 4294967296");
    CHECK_THROWS_CONTAINING(checked_size_product(-1, 2, "the batch"), "negative size");
}

TEST_CASE("factories fill what they promise") {
    const Tensor z = Tensor::zeros({2, 3});
    for (float v : z.to_vector()) CHECK(v == 0.0f);
    const Tensor f = Tensor::full({4}, 2.5, DType::F64);
    CHECK(f.dtype() == DType::F64);
    for (double v : f.to_double_vector()) CHECK(v == 2.5);
    const Tensor v = Tensor::from_vector({2, 2}, std::vector<float>{1, 2, 3, 4});
    CHECK(v.to_vector() == std::vector<float>{1, 2, 3, 4});
    CHECK(v.str() == "[2, 2] float32 cpu");
    CHECK_THROWS_CONTAINING(Tensor::from_vector({2, 2}, std::vector<float>{1, 2, 3}), "3 values for shape [2, 2]");
}

TEST_CASE("random tensors follow the generator, identically in float and double") {
    Generator a{42, 0}, b{42, 0};
    const Tensor x = Tensor::normal({1000}, 0.0, 1.0, a);
    const Tensor y = Tensor::normal({1000}, 0.0, 1.0, b, DType::F64);
    CHECK(a.offset == b.offset);
    const auto xf = x.to_vector();
    const auto yd = y.to_double_vector();
    for (size_t i = 0; i < xf.size(); ++i) REQUIRE(static_cast<double>(xf[i]) == yd[i]);
    // The generator advanced: the next draw differs.
    const Tensor x2 = Tensor::normal({1000}, 0.0, 1.0, a);
    CHECK(x2.to_vector() != xf);
    double mean = 0;
    for (float v : xf) mean += v;
    CHECK(std::abs(mean / 1000) < 0.15);
    const Tensor u = Tensor::uniform({1000}, -3, -2, a);
    for (float v : u.to_vector()) REQUIRE((v >= -3.0f && v <= -2.0f));
}

TEST_CASE("reshape and slice_rows are views; clone and to() copy") {
    const Tensor x = test::randn({4, 3, 2, 2}, DType::F32);
    const Tensor r = x.reshape({12, 4});
    CHECK(r.shares_storage_with(x));
    CHECK(r.to_vector() == x.to_vector());
    const Tensor rows = x.slice_rows(1, 3);
    CHECK(rows.shape() == Shape{2, 3, 2, 2});
    const auto all = x.to_vector();
    const auto part = rows.to_vector();
    CHECK(std::equal(part.begin(), part.end(), all.begin() + 12));
    rows.fill(7.0);  // writes through the view
    CHECK(x.to_vector()[12] == 7.0f);
    CHECK(x.to_vector()[11] == all[11]);

    const Tensor c = x.clone();
    CHECK_FALSE(c.shares_storage_with(x));
    c.fill(1.0);
    CHECK(x.to_vector()[0] == all[0]);

    const Tensor d = x.to(DType::F64);
    CHECK(d.dtype() == DType::F64);
    CHECK(d.to(DType::F32).to_vector() == x.to_vector());
    CHECK(x.to(Device::CPU).is_same(x));
    CHECK_THROWS_CONTAINING(x.reshape({5, 5}), "cannot view tensor [4, 3, 2, 2] float32 cpu as [5, 5]");
    CHECK_THROWS_CONTAINING(x.slice_rows(3, 5), "rows [3, 5) of tensor [4, 3, 2, 2]");
    CHECK_THROWS_CONTAINING(x.item(), "has 48 elements, not 1");
    CHECK_THROWS_CONTAINING(x.data<double>(), "read as float64");
}

TEST_CASE("an undefined tensor says so instead of crashing") {
    const Tensor t;
    CHECK_FALSE(t.defined());
    CHECK_THROWS_CONTAINING(t.shape(), "undefined tensor");
}

TEST_CASE("asking for the GPU without one is an error, not a crash") {
    if (cuda::available()) return;  // the GPU suite covers the other case
    CHECK_THROWS_CONTAINING(Tensor::zeros({2, 2}, DType::F32, Device::CUDA), "no CUDA device is available");
    CHECK_THROWS_CONTAINING(Tensor::zeros({2}).to(Device::CUDA), "no CUDA device is available");
}

TEST_CASE("under the test environment new tensors start as NaN") {
    REQUIRE(poison_allocations());  // ctest sets GANOPS_POISON_ALLOCATIONS=1
    for (float v : Tensor::empty({7}).to_vector()) CHECK(std::isnan(v));
    for (double v : Tensor::empty({7}, DType::F64).to_double_vector()) CHECK(std::isnan(v));
    for (float v : Tensor::zeros({7}).to_vector()) CHECK(v == 0.0f);
}

TEST_CASE("shapes drop and prepend leading dimensions") {
    CHECK(Shape{4, 3, 2}.drop_front() == Shape{3, 2});
    CHECK(Shape{5}.drop_front() == Shape{});
    CHECK(Shape{3, 2}.prepend(7) == Shape{7, 3, 2});
    CHECK(Shape{}.prepend(2) == Shape{2});
    CHECK_THROWS_CONTAINING(Shape{}.drop_front(), "has no dimension to drop");
    CHECK_THROWS_CONTAINING((Shape{1, 2, 3, 4}.prepend(5)), "already has 4 dimensions");
}
