// The NCCL backend: GPU tensors broadcast by NCCL on the library's current stream (ordered
// after the kernels that wrote them, before the ones that read them) and all-reduced on a
// side stream, so that a gradient bucket's all-reduce runs while the current stream goes on
// with the rest of backward (GradientReducer::overlap_next_backward): the side stream waits
// for the work queued so far, and wait() makes the current stream wait for the all-reduce,
// with no host synchronisation either way;
// CPU tensors, host vectors and barriers over MPI, which also hands every rank the NCCL
// communicator's id. One GPU per rank: the ranks of a machine each see their own GPU as
// device 0 (assign_gpu_by_local_rank, before the first CUDA call).
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>

#include "../../core/cuda_device.h"
#include "../../core/cuda_event.h"
#include "../../core/error.h"
#include "backends.h"
#include "mpi_communicator.h"

namespace ganops::dist {

namespace {

void check_nccl(ncclResult_t r, const char* what) {
    GANOPS_CHECK(r == ncclSuccess, what, ": NCCL error ", ncclGetErrorString(r), " (", ncclGetLastError(nullptr), ")");
}

cudaStream_t stream() { return reinterpret_cast<cudaStream_t>(cuda::current_stream()); }

// An all-reduce on the side stream: after wait(), every op queued on the current stream
// runs after it. Also on destruction, so that the tensor's memory is not reused under it.
class OnSideStream final : public PendingCollective {
public:
    void wait() override {
        if (waited_) return;
        done.wait(cuda::current_stream());
        waited_ = true;
    }
    ~OnSideStream() override { wait(); }
    cuda::Event ready, done;  // the tensor written / the all-reduce finished

private:
    bool waited_ = false;
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
        side_ = cuda::create_stream();
    }
    ~NcclCommunicator() override {
        cuda::destroy_stream(side_);  // waits for its all-reduces
        ncclCommDestroy(nccl_);
    }
    Backend backend() const override { return Backend::Nccl; }

    std::unique_ptr<PendingCollective> start_all_reduce_sum(const Tensor& t) override {
        if (t.device() == Device::CPU) return MpiCommunicator::start_all_reduce_sum(t);
        GANOPS_CHECK(t.dtype() == DType::F32, "all_reduce_sum: tensor ", t.str(), " is not float32");
        auto pending = std::make_unique<OnSideStream>();
        pending->ready.record(cuda::current_stream());
        pending->ready.wait(side_);
        check_nccl(ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), ncclFloat, ncclSum, nccl_, side_),
                   "ncclAllReduce");
        pending->done.record(side_);
        return pending;
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
    cuda::Stream side_ = nullptr;  // the all-reduces' own stream
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const InitOptions& options) {
    start_mpi();
    return std::make_unique<NcclCommunicator>(MPI_COMM_WORLD, options.program);
}

}  // namespace ganops::dist
