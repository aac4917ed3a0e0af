// dcgan_bedroom: DCGAN (Radford et al. 2015) as pytorch/examples/dcgan trains it, on
// libganops, plus tools for a trained generator. The default data is Fashion-MNIST from
// Debian's dataset-fashion-mnist, so the program runs offline.
//
//   dcgan_bedroom [training options]                      train (see --help)
//   dcgan_bedroom generate    --netG FILE [--n 64] [--individual]
//   dcgan_bedroom interpolate --netG FILE [--rows 8] [--steps 10] [--slerp]
//   dcgan_bedroom arithmetic  --netG FILE --a 1,2,3 --b 4,5,6 --c 7,8,9
#include <cstdio>

#include "command_line.h"

int main(int argc, char** argv) {
    const dcgan::Command command = dcgan::parse_command_line(argc, argv);
    try {
        switch (command.kind) {
            case dcgan::Command::Kind::Exit: return command.exit_code;
            case dcgan::Command::Kind::Generate: return dcgan::generate(command.tool);
            case dcgan::Command::Kind::Interpolate: return dcgan::interpolate(command.tool);
            case dcgan::Command::Kind::Arithmetic: return dcgan::arithmetic(command.tool);
            case dcgan::Command::Kind::Evaluate: return dcgan::evaluate(command.tool);
            case dcgan::Command::Kind::Train: break;
        }
        return dcgan::train(command.train);
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "dcgan: %s\n", e.what());
        return 1;
    }
}
