// A two-rank run in which rank 1 fails while rank 0 waits for it in a collective, for the
// tests that every rank stops within bounded time (tests/distributed/run_abort.cmake):
//   abort_child kill    rank 1 dies from SIGKILL (as under the OOM killer)
//   abort_child throw   rank 1 throws; the program reports it with abort_all, as
//                       dcgan_bedroom does
// Rank 0 would wait forever in the all-reduce if nothing ended it.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "ganops.h"
#include "nn/distributed/communicator.h"

using namespace ganops;

int main(int argc, char** argv) {
    const bool kill = argc > 1 && std::strcmp(argv[1], "kill") == 0;
    std::unique_ptr<dist::Communicator> comm = dist::init({.program = "abort_child"});
    try {
        comm->barrier();
        const Tensor t = Tensor::full({1000}, 1.0);
        if (comm->rank() == 1) {
            if (kill) std::raise(SIGKILL);
            throw Error("out of data: something went wrong on this rank only");
        }
        for (;;) comm->all_reduce_sum(t);  // rank 1 never joins
    } catch (const std::exception& e) {
        comm->abort_all(e.what(), 1);
    }
}
