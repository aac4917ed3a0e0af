// The dcgan_bedroom command line: the input is split at NUL bytes into arguments. Parsing
// must end in options or a usage message (Command::Kind::Exit), never a crash or an
// unexpected exception.
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "command_line.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args = {"dcgan_bedroom"};
    std::string current;
    for (size_t i = 0; i < size && args.size() < 64; ++i) {
        if (data[i] == 0) {
            args.push_back(current);
            current.clear();
        } else {
            current += char(data[i]);
        }
    }
    if (!current.empty()) args.push_back(current);
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::ostringstream quiet;  // usage messages and help are expected, not worth printing
    const dcgan::Command command = dcgan::parse_command_line(int(argv.size()), argv.data(), quiet, quiet);
    if (command.kind == dcgan::Command::Kind::Exit && command.exit_code < 0) __builtin_trap();
    return 0;
}
