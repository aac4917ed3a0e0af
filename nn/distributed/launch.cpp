#include "launch.h"

#include "../../core/cuda_device.h"
#include "data_parallel.h"
#include "sync_batchnorm.h"

namespace ganops::dist {

int run_as_rank(const RankOptions& options, const std::function<int(Communicator&)>& train) {
    if (options.device != "cpu") assign_gpu_by_local_rank();  // before the first CUDA call
    const bool on_gpu = options.device == "cuda" || (options.device.empty() && cuda::available());
    const std::unique_ptr<Communicator> comm =
        init({.device = on_gpu ? Device::CUDA : Device::CPU, .backend = options.backend, .program = options.program});
    try {
        return train(*comm);
    } catch (const std::exception& e) {
        if (comm->size() == 1) throw;
        comm->abort_all(e.what(), 1);
    }
}

int make_replica(Communicator& comm, nn::Module& module, bool sync_batchnorm) {
    broadcast_state(comm, module);
    return sync_batchnorm ? convert_sync_batchnorm(module, comm) : 0;
}

}  // namespace ganops::dist
