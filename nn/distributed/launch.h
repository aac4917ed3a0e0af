// What a training program does to become one rank of `mpirun -np N prog --distributed`
// (dcgan_bedroom, the GAN family's loop): each rank of a machine on its own GPU, the
// communicator, an error on any rank ending every rank with a message that names it, and
// models that start as rank 0's.
#pragma once
#include <functional>
#include <string>

#include "../module.h"
#include "communicator.h"

namespace ganops::dist {

struct RankOptions {
    std::string program = "ganops";  // names the process in messages ("dcgan: rank 1 of 2: ...")
    std::string device;              // "cuda", "cpu", or empty: the GPU when there is one
    std::string backend = "auto";    // InitOptions::backend: auto, mpi or nccl
};

// Runs `train` as this process's rank of the run mpirun started (a one-process world when
// not started by mpirun) and returns its exit code. Before the first CUDA call it gives each
// rank of a machine its own GPU (assign_gpu_by_local_rank). An exception from `train` on
// one of several ranks ends every rank (abort_all, exit code 1): the others may be waiting
// for this one in a collective. With one rank it propagates.
int run_as_rank(const RankOptions& options, const std::function<int(Communicator&)>& train);

// Makes `module` a replica: rank 0's parameters and buffers, and with `sync_batchnorm`
// batchnorm statistics over the global batch (sync_batchnorm.h). Returns the number of
// batchnorm layers synchronised.
int make_replica(Communicator& comm, nn::Module& module, bool sync_batchnorm);

}  // namespace ganops::dist
