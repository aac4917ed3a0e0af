// The one-process world, what every backend shares, and the choice between backends.
#include "communicator.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../../core/error.h"
#include "backends.h"

#ifndef GANOPS_WITH_MPI
#define GANOPS_WITH_MPI 0
#endif
#ifndef GANOPS_WITH_NCCL
#define GANOPS_WITH_NCCL 0
#endif

namespace ganops::dist {

namespace {

Communicator* g_current = nullptr;

// Not started by mpirun: one rank, and every collective is the identity.
class SingleProcess final : public Communicator {
public:
    explicit SingleProcess(std::string program) : Communicator(0, 1, 0, 1), program_(std::move(program)) {}
    Backend backend() const override { return Backend::Single; }
    std::unique_ptr<PendingCollective> start_all_reduce_sum(const Tensor& t) override {
        GANOPS_CHECK(t.dtype() == DType::F32, "all_reduce_sum: tensor ", t.str(), " is not float32");
        struct Done final : PendingCollective {
            void wait() override {}
        };
        return std::make_unique<Done>();
    }
    void broadcast(const Tensor&, int root) override {
        GANOPS_CHECK(root == 0, "broadcast: root ", root, " is not a rank of a one-process world");
    }
    std::vector<double> all_gather(const std::vector<double>& mine) override { return mine; }
    void barrier() override {}

private:
    void abort_everyone(const std::string& message, int code) override {
        std::fflush(stdout);
        std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
        std::exit(code);
    }
    std::string program_;
};

const char* env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
}

}  // namespace

const char* backend_name(Backend backend) {
    switch (backend) {
    case Backend::Single: return "single process";
    case Backend::Mpi: return "MPI";
    case Backend::Nccl: return "NCCL";
    }
    return "?";
}

void Communicator::abort_all(const std::string& message, int code) {
    abort_everyone(message, code);
    std::_Exit(code);
}

std::vector<double> Communicator::all_reduce_sum_host(const std::vector<double>& mine) {
    const std::vector<double> all = all_gather(mine);
    std::vector<double> sum(mine.size(), 0.0);
    for (int r = 0; r < size(); ++r)
        for (size_t i = 0; i < mine.size(); ++i) sum[i] += all[size_t(r) * mine.size() + i];
    return sum;
}

bool Communicator::all_true(bool mine) {
    const std::vector<double> all = all_gather({mine ? 1.0 : 0.0});
    for (double v : all)
        if (v == 0) return false;
    return true;
}

bool launched_by_mpi() {
    return env("OMPI_COMM_WORLD_SIZE") || env("PMI_SIZE") || env("PMIX_RANK") || env("MPI_LOCALNRANKS");
}

void assign_gpu_by_local_rank() {
    if (env("CUDA_VISIBLE_DEVICES")) return;  // the user or the scheduler chose
    const char* local_rank = env("OMPI_COMM_WORLD_LOCAL_RANK");
    const char* local_size = env("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!local_rank) local_rank = env("MPI_LOCALRANKID"), local_size = env("MPI_LOCALNRANKS");
    if (!local_rank) local_rank = env("SLURM_LOCALID"), local_size = env("SLURM_NTASKS_PER_NODE");
    if (!local_rank || (local_size && std::string(local_size) == "1")) return;
    setenv("CUDA_VISIBLE_DEVICES", local_rank, 1);
}

std::unique_ptr<Communicator> init(const InitOptions& options) {
    GANOPS_CHECK(g_current == nullptr, "dist::init: this process already has a communicator");
    GANOPS_CHECK(options.backend == "auto" || options.backend == "mpi" || options.backend == "nccl",
                 "dist::init: backend must be auto, mpi or nccl, got \"", options.backend, "\"");
    const bool want_nccl = options.backend == "nccl" || (options.backend == "auto" && options.device == Device::CUDA && has_nccl());
    if (options.backend == "nccl") {
        GANOPS_CHECK(has_nccl(), "dist::init: the NCCL backend was asked for, but this build has no NCCL (GANOPS_WITH_NCCL)");
        GANOPS_CHECK(options.device == Device::CUDA, "dist::init: the NCCL backend moves GPU tensors; the model is on the CPU");
    }
    if (!launched_by_mpi()) {
        GANOPS_CHECK(options.backend == "auto", "dist::init: backend ", options.backend,
                     " asked for, but the program was not started by mpirun");
        return std::make_unique<SingleProcess>(options.program);
    }
    GANOPS_CHECK(has_mpi(), "dist::init: started by mpirun, but this build has no MPI (GANOPS_WITH_MPI): install "
                            "libopenmpi-dev and configure again");
#if GANOPS_WITH_MPI
    // One backend for all: a rank without a GPU (more ranks than GPUs on a machine) makes
    // every rank use MPI, which moves tensors from any device.
    start_mpi();
    const bool nccl_everywhere = every_rank(want_nccl);
    if (options.backend == "nccl" && !nccl_everywhere)
        fail("dist::init: --dist-backend nccl, but some rank's model is not on a GPU");
#if GANOPS_WITH_NCCL
    if (nccl_everywhere) return make_nccl_communicator(options);
#endif
    return make_mpi_communicator(options);
#else
    fail("unreachable");  // launched by mpirun without MPI: refused above
#endif
}

Communicator* current() { return g_current; }

Communicator::Communicator(int rank, int size, int local_rank, int local_size)
    : rank_(rank), size_(size), local_rank_(local_rank), local_size_(local_size) {
    g_current = this;
}

Communicator::~Communicator() { g_current = nullptr; }

bool has_mpi() { return GANOPS_WITH_MPI; }
bool has_nccl() { return GANOPS_WITH_NCCL; }

}  // namespace ganops::dist
