#include "mpi_communicator.h"

#include <climits>
#include <cstdio>
#include <cstdlib>

#include "../../core/error.h"
#include "backends.h"

namespace ganops::dist {

namespace {

int comm_rank(MPI_Comm c) {
    int r = 0;
    MPI_Comm_rank(c, &r);
    return r;
}
int comm_size(MPI_Comm c) {
    int n = 0;
    MPI_Comm_size(c, &n);
    return n;
}
// The ranks that share this machine's memory: the local rank picks the GPU.
std::pair<int, int> local_rank_and_size(MPI_Comm c) {
    MPI_Comm local;
    MPI_Comm_split_type(c, MPI_COMM_TYPE_SHARED, comm_rank(c), MPI_INFO_NULL, &local);
    const std::pair<int, int> rs{comm_rank(local), comm_size(local)};
    MPI_Comm_free(&local);
    return rs;
}

int element_count(const Tensor& t, const char* op) {
    GANOPS_CHECK(t.dtype() == DType::F32, op, ": tensor ", t.str(), " is not float32");
    GANOPS_CHECK(t.numel() <= INT_MAX, op, ": tensor ", t.str(), " has more elements than one MPI message holds");
    return int(t.numel());
}

// The sum lands in `host`; for a GPU tensor it is copied back after the wait.
class MpiPending final : public PendingCollective {
public:
    MpiPending(Tensor t, std::vector<float> staging) : tensor_(std::move(t)), staging_(std::move(staging)) {}
    MPI_Request* request() { return &request_; }
    void wait() override {
        if (done_) return;
        if (!arrived_) MPI_Wait(&request_, MPI_STATUS_IGNORE);
        arrived_ = done_ = true;
        if (tensor_.device() != Device::CPU) tensor_.copy_from(Tensor::from_vector(tensor_.shape(), staging_, Device::CPU));
    }
    void progress() override {
        if (arrived_) return;
        int flag = 0;
        MPI_Test(&request_, &flag, MPI_STATUS_IGNORE);
        arrived_ = flag != 0;
    }
    ~MpiPending() override { wait(); }  // MPI must not write into freed memory

    Tensor tensor_;
    std::vector<float> staging_;

private:
    MPI_Request request_ = MPI_REQUEST_NULL;
    bool arrived_ = false;  // MPI has the sum in place (MPI_Test said so, or MPI_Wait returned)
    bool done_ = false;     // and wait() has copied it back
};

bool g_we_initialised = false;

}  // namespace

// Threads funneled to the main one; MPI_Finalize when the communicator goes, if we called
// MPI_Init.
void start_mpi() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised) return;
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    g_we_initialised = true;
}

bool every_rank(bool mine) {
    int in = mine ? 1 : 0, out = 0;
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return out == 1;
}

MpiCommunicator::MpiCommunicator(MPI_Comm world, const std::string& program)
    : MpiCommunicator(world, program, local_rank_and_size(world)) {}

MpiCommunicator::MpiCommunicator(MPI_Comm world, const std::string& program, std::pair<int, int> local)
    : Communicator(comm_rank(world), comm_size(world), local.first, local.second), program_(program) {
    MPI_Comm_dup(world, &comm_);
    // Errors in MPI itself (a peer gone, a truncated message) end every rank with MPI's
    // message: the default for the world, made explicit for our duplicate.
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_ARE_FATAL);
}

MpiCommunicator::~MpiCommunicator() {
    MPI_Comm_free(&comm_);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (g_we_initialised && !finalized) MPI_Finalize();
}

std::unique_ptr<PendingCollective> MpiCommunicator::start_all_reduce_sum(const Tensor& t) {
    const int n = element_count(t, "all_reduce_sum");
    auto pending = std::make_unique<MpiPending>(t, std::vector<float>());
    float* data = nullptr;
    if (t.device() == Device::CPU) {
        data = t.data<float>();
    } else {
        pending->staging_ = t.to_vector();
        data = pending->staging_.data();
    }
    MPI_Iallreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, comm_, pending->request());
    return pending;
}

void MpiCommunicator::broadcast(const Tensor& t, int root) {
    GANOPS_CHECK(root >= 0 && root < size(), "broadcast: root ", root, " is not a rank of ", size());
    const int n = element_count(t, "broadcast");
    if (t.device() == Device::CPU) {
        MPI_Bcast(t.data<float>(), n, MPI_FLOAT, root, comm_);
        return;
    }
    std::vector<float> host = t.to_vector();
    MPI_Bcast(host.data(), n, MPI_FLOAT, root, comm_);
    t.copy_from(Tensor::from_vector(t.shape(), host, Device::CPU));
}

std::vector<double> MpiCommunicator::all_gather(const std::vector<double>& mine) {
    GANOPS_CHECK(mine.size() <= size_t(INT_MAX), "all_gather: ", mine.size(), " values are more than one MPI message holds");
    std::vector<double> all(mine.size() * size_t(size()));
    MPI_Allgather(mine.data(), int(mine.size()), MPI_DOUBLE, all.data(), int(mine.size()), MPI_DOUBLE, comm_);
    return all;
}

void MpiCommunicator::barrier() { MPI_Barrier(comm_); }

void MpiCommunicator::abort_everyone(const std::string& message, int code) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: rank %d of %d: %s\n", program_.c_str(), rank(), size(), message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
}

std::unique_ptr<Communicator> make_mpi_communicator(const InitOptions& options) {
    start_mpi();
    return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, options.program);
}

}  // namespace ganops::dist
