// Tests build against Catch2 v2 (Debian's single header, our build and CI machines)
// and Catch2 v3 (the GPU machine). Include this instead of either header.
#pragma once
// GANOPS_CATCH2_V2 forces the single header where both are installed (tests/CMakeLists.txt).
#if __has_include(<catch2/catch_all.hpp>) && !defined(GANOPS_CATCH2_V2)
#define GANOPS_CATCH2_V3 1
#include <catch2/catch_all.hpp>
using Catch::Approx;  // v2 has it at global scope
#else
#include <catch2/catch.hpp>
#endif

// The substring matcher changed its name between v2 and v3.
#ifdef GANOPS_CATCH2_V3
#define GANOPS_CONTAINS(s) Catch::Matchers::ContainsSubstring(s)
#else
#define GANOPS_CONTAINS(s) Catch::Contains(s)
#endif
#define CHECK_THROWS_CONTAINING(expr, s) CHECK_THROWS_WITH(expr, GANOPS_CONTAINS(s))
#define REQUIRE_THROWS_CONTAINING(expr, s) REQUIRE_THROWS_WITH(expr, GANOPS_CONTAINS(s))
