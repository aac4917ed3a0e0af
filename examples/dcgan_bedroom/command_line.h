// The dcgan_bedroom command line: training options as pytorch/examples/dcgan names them,
// and the subcommands on a trained generator. Parsing is apart from main() so that it can be
// tested and fuzzed (fuzz/fuzz_cli.cpp) without running anything.
#pragma once
#include <iostream>

#include "tools.h"
#include "train.h"

namespace dcgan {

struct Command {
    enum class Kind { Train, Generate, Interpolate, Arithmetic, Evaluate, Exit };
    Kind kind = Kind::Train;
    TrainOptions train;
    ToolOptions tool;
    int exit_code = 0;  // Kind::Exit: --help (0) or a usage error (non-zero), already printed
};

// Never throws for bad arguments: CLI11's message goes to `err` (the help to `out`) and
// kind is Exit.
Command parse_command_line(int argc, const char* const* argv, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace dcgan
