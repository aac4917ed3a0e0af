// The MPI backend: CPU tensors in place, GPU tensors staged through host memory; also the
// bootstrap and host collectives of the NCCL backend, which derives from it.
#pragma once
#include <mpi.h>

#include <string>
#include <utility>

#include "communicator.h"

namespace ganops::dist {

class MpiCommunicator : public Communicator {
public:
    // After MPI_Init (mpi_communicator.cpp's make_mpi_communicator calls it).
    MpiCommunicator(MPI_Comm world, const std::string& program);
    ~MpiCommunicator() override;
    Backend backend() const override { return Backend::Mpi; }
    std::unique_ptr<PendingCollective> start_all_reduce_sum(const Tensor& t) override;
    void broadcast(const Tensor& t, int root) override;
    std::vector<double> all_gather(const std::vector<double>& mine) override;
    void barrier() override;

protected:
    MpiCommunicator(MPI_Comm world, const std::string& program, std::pair<int, int> local_rank_and_size);
    void abort_everyone(const std::string& message, int code) override;

    MPI_Comm comm_;  // a duplicate of the world: our messages never meet the program's own
    std::string program_;
};

}  // namespace ganops::dist
