// A fuzz target: one function that takes untrusted bytes, in libFuzzer's signature. Built
// with clang's -fsanitize=fuzzer when GANOPS_FUZZ=ON (the fuzzing engine calls it), and
// always with replay_main.cpp (a plain main that feeds it files), so that ctest replays the
// seed corpus and every saved crash input in CI with the ordinary compiler.
//
// A target must return normally for every input: expected errors (the reader's documented
// exceptions) are caught inside it; anything else (a crash, a sanitizer report, another
// exception, a leak) is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fuzz {

// A file path private to this process for readers that take a path (IDX, LMDB), rewritten
// with `data` on each call. `name` ends the path ("data.mdb", "images-idx3-ubyte").
std::string write_temp_file(const std::string& name, const uint8_t* data, size_t size);

}  // namespace fuzz
