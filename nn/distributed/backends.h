// The backends' constructors, each compiled only when its library was found.
#pragma once
#include <memory>

#include "communicator.h"

namespace ganops::dist {

std::unique_ptr<Communicator> make_mpi_communicator(const InitOptions& options);   // mpi_communicator.cpp
std::unique_ptr<Communicator> make_nccl_communicator(const InitOptions& options);  // nccl_communicator.cpp

}  // namespace ganops::dist
