// The NCCL backend: GPU tensors all-reduced and broadcast by NCCL on the library's current
// stream (ordered after the kernels that wrote them, before the ones that read them);
// CPU tensors, host vectors and barriers over MPI, which also hands every rank the NCCL
// communicator's id. One GPU per rank: the ranks of a machine each see their own GPU as
// device 0 (assign_gpu_by_local_rank, before the first CUDA call).
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>

#include "../../core/cuda_device.h"
#include "../../core/error.h"
#include "backends.h"
#include "mpi_communicator.h"

namespace ganops::dist {

namespace {

void check_nccl(ncclResult_t r, const char* what) {
    GANOPS_CHECK(r == ncclSuccess, what, ": NCCL error ", ncclGetErrorString(r), " (", ncclGetLastError(nullptr), ")");
}

cudaStream_t stream() { return reinterpret_cast<cudaStream_t>(cuda::current_stream()); }

// NCCL runs on the stream; the result is in place for every later op on it.
class Ordered final : public PendingCollective {
public:
    void wait() override {}
};

class NcclCommunicator final : public MpiCommunicator {
public:
    NcclCommunicator(MPI_Comm world, const std::string& program) : MpiCommunicator(world, program) {
        GANOPS_CHECK(cuda::available(), "NCCL backend: rank ", rank(), " (local rank ", local_rank(), " of ", local_size(),
                     " on its machine) sees no GPU; run one rank per GPU");
        ncclUniqueId id;
        if (is_root()) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
        MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm_);
        check_nccl(ncclCommInitRank(&nccl_, size(), id, rank()), "ncclCommInitRank");
    }
    ~NcclCommunicator() override { ncclCommDestroy(nccl_); }
    Backend backend() const override { return Backend::Nccl; }

    std::unique_ptr<PendingCollective> start_all_reduce_sum(const Tensor& t) override {
        if (t.device() == Device::CPU) return MpiCommunicator::start_all_reduce_sum(t);
        GANOPS_CHECK(t.dtype() == DType::F32, "all_reduce_sum: tensor ", t.str(), " is not float32");
        check_nccl(ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), ncclFloat, ncclSum, nccl_, stream()),
                   "ncclAllReduce");
        return std::make_unique<Ordered>();
    }
    void broadcast(const Tensor& t, int root) override {
        if (t.device() == Device::CPU) return MpiCommunicator::broadcast(t, root);
        GANOPS_CHECK(t.dtype() == DType::F32, "broadcast: tensor ", t.str(), " is not float32");
        GANOPS_CHECK(root >= 0 && root < size(), "broadcast: root ", root, " is not a rank of ", size());
        check_nccl(ncclBroadcast(t.data_ptr(), t.data_ptr(), size_t(t.numel()), ncclFloat, root, nccl_, stream()),
                   "ncclBroadcast");
    }

private:
    void abort_everyone(const std::string& message, int code) override {
        ncclCommAbort(nccl_);  // frees this rank's GPU work blocked in a NCCL kernel
        MpiCommunicator::abort_everyone(message, code);
    }

    ncclComm_t nccl_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const InitOptions& options) {
    start_mpi();
    return std::make_unique<NcclCommunicator>(MPI_COMM_WORLD, options.program);
}

}  // namespace ganops::dist
