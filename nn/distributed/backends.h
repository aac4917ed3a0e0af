// The backends' constructors, each compiled only when its library was found.
#pragma once
#include <memory>

#include "communicator.h"

namespace ganops::dist {

// MPI_Init when the program has not called it (mpi_communicator.cpp), and whether `mine`
// holds on every rank of the world.
void start_mpi();
bool every_rank(bool mine);
std::unique_ptr<Communicator> make_mpi_communicator(const InitOptions& options);   // mpi_communicator.cpp
std::unique_ptr<Communicator> make_nccl_communicator(const InitOptions& options);  // nccl_communicator.cpp

}  // namespace ganops::dist
