// Every bad input the library can see ends here: an exception whose message names the op
// and the shapes involved, never an abort or undefined behaviour.
#pragma once
#include <sstream>
#include <stdexcept>

namespace ganops {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
    std::ostringstream message;
    (message << ... << parts);
    throw Error(message.str());
}

}  // namespace ganops

// GANOPS_CHECK(condition, message parts...): the parts are only formatted on failure.
#define GANOPS_CHECK(condition, ...)                     \
    do {                                                 \
        if (!(condition)) ::ganops::fail(__VA_ARGS__);   \
    } while (0)
