// The processes of a data-parallel run and the collectives between them.
//
// Processes start and find each other through MPI (`mpirun -np N prog ...`): rank r of N,
// and its local rank among the processes of its machine (which GPU it drives). Tensors
// travel over NCCL when they live on a GPU and NCCL was built in, else over MPI (GPU
// tensors are staged through host memory then). Without MPI in the build, or when the
// program was not started by mpirun, the world is this one process and every collective
// is the identity.
//
// Every collective must be called by every rank, in the same order, with the same sizes:
// a rank that skips one leaves the others waiting. So an error on one rank must end all of
// them: abort_all() prints the message with the rank and calls MPI_Abort, which makes
// mpirun end every process (no rank is left waiting in a collective). A rank that dies (a
// signal, the OOM killer) is seen by mpirun, which ends the others in the same way.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "../../core/device.h"
#include "../../core/tensor.h"

namespace ganops::dist {

enum class Backend { Single, Mpi, Nccl };
const char* backend_name(Backend backend);

// A started collective; wait() returns when its result is in place.
class PendingCollective {
public:
    virtual ~PendingCollective() = default;
    virtual void wait() = 0;
    // Lets it advance without waiting: MPI moves a non-blocking collective on only inside
    // MPI calls, so a caller with other work polls now and then (NCCL and one process: no-op).
    virtual void progress() {}
};

class Communicator {
public:
    virtual ~Communicator();
    Communicator(const Communicator&) = delete;
    Communicator& operator=(const Communicator&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }
    int local_rank() const { return local_rank_; }  // among the ranks on this machine
    int local_size() const { return local_size_; }
    bool is_root() const { return rank_ == 0; }
    virtual Backend backend() const = 0;

    // In place, over every rank: a float32 tensor (contiguous, on the CPU or a GPU) becomes
    // the elementwise sum of every rank's copy. NCCL gives every rank the same bits; MPI does
    // not promise it, OpenMPI does it for two ranks (test_distributed checks that replicas
    // stay bit-identical), and should replicas drift apart, broadcast_state realigns them.
    void all_reduce_sum(const Tensor& t) { start_all_reduce_sum(t)->wait(); }
    // The same, started: the tensor must stay alive and untouched until wait() returns.
    virtual std::unique_ptr<PendingCollective> start_all_reduce_sum(const Tensor& t) = 0;
    // In place: every rank's tensor becomes root's.
    virtual void broadcast(const Tensor& t, int root) = 0;
    // Small host vectors (statistics, flags, losses): every rank's `mine` (same length on
    // every rank), concatenated in rank order.
    virtual std::vector<double> all_gather(const std::vector<double>& mine) = 0;
    virtual void barrier() = 0;
    // Prints "<program>: rank r of N: <message>" on stderr and ends every rank with `code`.
    [[noreturn]] void abort_all(const std::string& message, int code);

    // Sums in rank order from all_gather: the same bits on every rank, whatever the network
    // did. For a handful of numbers (losses, per-channel statistics).
    std::vector<double> all_reduce_sum_host(const std::vector<double>& mine);
    bool all_true(bool mine);  // a decision every rank takes together (stop, skip)

protected:
    // abort_all's work; returns only if the backend could not end the run (then this
    // process exits alone).
    virtual void abort_everyone(const std::string& message, int code) = 0;
    Communicator(int rank, int size, int local_rank, int local_size);  // becomes current()

private:
    int rank_, size_, local_rank_, local_size_;
};

struct InitOptions {
    // Where the model's tensors live: CUDA selects NCCL when it was built in.
    Device device = Device::CPU;
    // "auto" (NCCL for GPU tensors when built in, else MPI), "mpi" or "nccl".
    std::string backend = "auto";
    std::string program = "ganops";  // names the process in abort_all's message
};

// Joins the run mpirun started (MPI_Init), or makes the one-process world when the program
// was not started by mpirun. Throws ganops::Error when a backend asked for is not built in.
// One communicator per process; its destructor waits for every rank (MPI_Finalize).
std::unique_ptr<Communicator> init(const InitOptions& options);

// The communicator init() made, while it lives; null otherwise. For error paths that must
// end every rank (abort_all) without being handed the communicator.
Communicator* current();

// True when this process was started by mpirun (or another MPI launcher we recognise), so
// --distributed knows whether it has peers, before any MPI call.
bool launched_by_mpi();

// Built in? (CMake: GANOPS_WITH_MPI, GANOPS_WITH_NCCL)
bool has_mpi();
bool has_nccl();

// Before the first CUDA call of a process: when several ranks share a machine and nothing
// chose their GPUs, rank `local rank` sees only GPU `local rank` (CUDA_VISIBLE_DEVICES),
// so every rank's device 0 is its own GPU. Called by init() before MPI starts; reads the
// launcher's environment (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, SLURM_LOCALID).
void assign_gpu_by_local_rank();

}  // namespace ganops::dist
