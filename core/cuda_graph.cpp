#include "cuda_graph.h"

#include <algorithm>
#include <vector>

#include "../kernels/cuda/graph_replay.h"
#include "cuda_allocator.h"
#include "cuda_graph_pool.h"
#include "cuda_check.h"
#include "cuda_counters.h"

namespace ganops::cuda {

namespace {
constexpr int kTableDoubles = 1 << 14;  // room for the schedules of one graph (128 KiB)
}  // namespace

struct Graph::State {
    int64_t max_replays;
    int64_t replays = 0;
    Stream stream = nullptr;
    cudaGraphExec_t exec = nullptr;
    int pool = 0;
    // Device memory the captured kernels read: [replay counter][Philox bases][tables].
    void* device = nullptr;
    int64_t* counter() const { return static_cast<int64_t*>(device); }
    uint64_t* bases() const { return reinterpret_cast<uint64_t*>(counter() + 1); }
    double* tables() const { return reinterpret_cast<double*>(bases() + kMaxReplayStreams); }

    // Recorded during a capture.
    struct Stream_ {
        uint64_t seed, first, end;
    };
    std::vector<Stream_> streams;
    struct Table {
        int offset, width;
        std::function<void(int64_t, double*)> fill;
    };
    std::vector<Table> tables_used;
    int table_doubles = 0;
};

namespace {
thread_local Graph::State* capturing = nullptr;
}  // namespace

ReplayOffset replay_offset(uint64_t seed, uint64_t offset, uint64_t blocks) {
    Graph::State* s = capturing;
    if (!s) return {nullptr, offset};
    auto it = std::find_if(s->streams.begin(), s->streams.end(), [&](const auto& st) { return st.seed == seed; });
    if (it == s->streams.end()) {
        GANOPS_CHECK(s->streams.size() < size_t(kMaxReplayStreams), "cuda graph capture: more than ", kMaxReplayStreams,
                     " random streams in one graph");
        s->streams.push_back({seed, offset, offset});
        it = s->streams.end() - 1;
    }
    GANOPS_CHECK(offset >= it->first, "cuda graph capture: a random stream went backwards (seed ", seed, ")");
    it->end = std::max(it->end, offset + blocks);
    return {s->bases() + (it - s->streams.begin()), offset - it->first};
}

ReplaySchedule replay_schedule(int width, const std::function<void(int64_t, double*)>& fill) {
    Graph::State* s = capturing;
    if (!s) return {};
    const int64_t need = int64_t(width) * s->max_replays;
    GANOPS_CHECK(s->table_doubles + need <= kTableDoubles, "cuda graph capture: per-replay tables exceed ", kTableDoubles,
                 " doubles (fewer max_replays?)");
    const int offset = s->table_doubles;
    s->table_doubles += int(need);
    s->tables_used.push_back({offset, width, fill});
    return {s->tables() + offset, s->counter()};
}

Graph::Graph(int64_t max_replays) : state_(std::make_unique<State>()) {
    GANOPS_CHECK(max_replays >= 1, "cuda::Graph: max_replays must be at least 1, got ", max_replays);
    state_->max_replays = max_replays;
}

Graph::~Graph() {
    try {
        reset();
    } catch (...) {
        // A device fault while waiting: nothing left to release safely.
    }
    if (state_->device) cudaFree(state_->device);
}

bool Graph::ready() const { return state_->exec && state_->replays < state_->max_replays; }
int64_t Graph::replays() const { return state_->replays; }

void Graph::reset() {
    State& s = *state_;
    if (!s.exec) return;
    synchronize_stream(s.stream);  // replays in flight still use the pool and the tables
    cudaGraphExecDestroy(s.exec);
    s.exec = nullptr;
    release_graph_pool(s.pool);
    s.pool = 0;
    s.replays = 0;
}

std::string Graph::capture(Stream stream, const std::function<void()>& work) {
    GANOPS_CHECK(stream != nullptr, "cuda::Graph::capture: the legacy default stream cannot be captured (use create_stream)");
    GANOPS_CHECK(!capturing, "cuda::Graph::capture: already capturing on this thread");
    reset();
    State& s = *state_;
    if (!s.device) {
        GANOPS_CUDA_CHECK(cudaMalloc(&s.device, sizeof(int64_t) + kMaxReplayStreams * sizeof(uint64_t) + kTableDoubles * sizeof(double)));
    }
    s.stream = stream;
    s.streams.clear();
    s.tables_used.clear();
    s.table_doubles = 0;

    std::string why;
    begin_graph_pool(stream);
    // Relaxed: other threads (the data loader) keep allocating and copying meanwhile.
    cudaError_t status = cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed);
    if (status != cudaSuccess) {
        cudaGetLastError();
        release_graph_pool(end_graph_pool());
        return std::string("cudaStreamBeginCapture failed: ") + cudaGetErrorString(status);
    }
    capturing = &s;
    try {
        StreamGuard on(stream);
        work();
        // The last node: the replay counter and the random streams move on.
        ReplayAdvance advance{};
        advance.streams = int(s.streams.size());
        for (size_t i = 0; i < s.streams.size(); ++i) advance.delta[i] = s.streams[i].end - s.streams[i].first;
        advance_replay_state(s.counter(), s.bases(), advance);
    } catch (const std::exception& e) {
        why = e.what();
    }
    capturing = nullptr;
    cudaGraph_t graph = nullptr;
    status = cudaStreamEndCapture(stream, &graph);
    const int pool = end_graph_pool();
    if (why.empty() && status != cudaSuccess) why = std::string("cudaStreamEndCapture failed: ") + cudaGetErrorString(status);
    if (why.empty() && (status = cudaGraphInstantiate(&s.exec, graph, 0)) != cudaSuccess)
        why = std::string("cudaGraphInstantiate failed: ") + cudaGetErrorString(status);
    if (graph) cudaGraphDestroy(graph);
    if (!why.empty()) {
        cudaGetLastError();
        if (s.exec) cudaGraphExecDestroy(s.exec);
        s.exec = nullptr;
        release_graph_pool(pool);
        return why;
    }
    s.pool = pool;

    // What the captured kernels read, written once now (the graph has not run yet).
    std::vector<unsigned char> init(sizeof(int64_t) + kMaxReplayStreams * sizeof(uint64_t) + size_t(s.table_doubles) * sizeof(double));
    auto* counter = reinterpret_cast<int64_t*>(init.data());
    auto* bases = reinterpret_cast<uint64_t*>(counter + 1);
    auto* tables = reinterpret_cast<double*>(bases + kMaxReplayStreams);
    *counter = 0;
    for (size_t i = 0; i < s.streams.size(); ++i) bases[i] = s.streams[i].first;
    for (const State::Table& t : s.tables_used)
        for (int64_t r = 0; r < s.max_replays; ++r) t.fill(r, tables + t.offset + r * t.width);
    {
        StreamGuard on(stream);
        copy_bytes(s.device, Device::CUDA, init.data(), Device::CPU, init.size());
    }
    return {};
}

void Graph::replay() {
    State& s = *state_;
    GANOPS_CHECK(ready(), "cuda::Graph::replay: ", s.exec ? "all replays of this capture are used (capture again)" : "nothing captured");
    count_graph_launch();
    GANOPS_CUDA_CHECK(cudaGraphLaunch(s.exec, s.stream));
    ++s.replays;
}

}  // namespace ganops::cuda
