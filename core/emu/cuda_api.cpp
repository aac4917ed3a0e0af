// The CUDA runtime API of the emulated build: device memory is host memory (so ASan sees
// every device buffer), streams are queues (run at once, or deferred: runtime.h), events
// order them, and stream capture records a graph that cudaGraphLaunch replays.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "include/cuda_runtime_api.h"
#include "runtime_internal.h"

struct CUevent_st {
    unsigned flags = 0;
    uint64_t recorded = 0;   // records issued
    uint64_t completed = 0;  // records that have run
    CUstream_st* stream = nullptr;
    std::chrono::steady_clock::time_point time;
};

namespace {
struct Op {
    enum Kind { Work, Record, Wait } kind = Work;
    std::function<cudaError_t()> work;
    CUevent_st* event = nullptr;
    uint64_t generation = 0;
};
}  // namespace

struct CUgraph_st {
    std::vector<Op> ops;
    bool invalidated = false;
    CUstream_st* origin = nullptr;
};
struct CUgraphExec_st {
    std::vector<Op> ops;
};
struct CUstream_st {
    unsigned flags = 0;
    std::deque<Op> queue;
    CUgraph_st* capture = nullptr;
    cudaStreamCaptureMode capture_mode = cudaStreamCaptureModeGlobal;
};

namespace ganops_emu {
namespace {

constexpr size_t kDeviceMemory = size_t{80} << 30;  // what the emulated H100 reports

std::recursive_mutex api_mutex;
CUstream_st legacy_stream;
std::set<CUstream_st*>& streams() {
    static auto* s = new std::set<CUstream_st*>{&legacy_stream};
    return *s;
}
std::set<CUevent_st*>& events() {
    static auto* s = new std::set<CUevent_st*>;
    return *s;
}
std::map<uintptr_t, size_t>& device_allocations() {  // start -> bytes
    static auto* m = new std::map<uintptr_t, size_t>;
    return *m;
}
std::map<uintptr_t, size_t>& pinned_allocations() {
    static auto* m = new std::map<uintptr_t, size_t>;
    return *m;
}
size_t device_bytes = 0;
std::map<std::string, int>& dynamic_shared_limits() {
    static auto* m = new std::map<std::string, int>;
    return *m;
}

bool deferred = false;
uint64_t seed = 0;
std::mt19937_64& rng() {
    static std::mt19937_64 r;
    return r;
}
bool mode_initialised = false;
void init_mode() {
    if (mode_initialised) return;
    mode_initialised = true;
    deferred = options().deferred_streams;
    seed = options().stream_seed;
    rng().seed(seed);
}

thread_local cudaError_t last_error = cudaSuccess;
thread_local std::string error_detail;

cudaError_t fail(cudaError_t error, const std::string& detail) {
    report(detail);
    last_error = error;
    error_detail = detail;
    return error;
}

CUstream_st* resolve(cudaStream_t stream) { return stream ? stream : &legacy_stream; }
bool valid(CUstream_st* s) { return streams().count(s) != 0; }

std::string hex(const void* p) {
    std::ostringstream s;
    s << p;
    return s.str();
}

// Where `p` lies: the device allocation holding [p, p + bytes), or none.
enum class Where { Host, Device, DeviceOutOfBounds, Pinned };
Where locate(const void* p, size_t bytes) {
    const auto at = reinterpret_cast<uintptr_t>(p);
    auto in = [&](std::map<uintptr_t, size_t>& m, bool& out_of_bounds) {
        auto it = m.upper_bound(at);
        if (it == m.begin()) return false;
        --it;
        if (at >= it->first + std::max<size_t>(it->second, 1)) return false;
        out_of_bounds = at + bytes > it->first + it->second;
        return true;
    };
    bool oob = false;
    if (in(device_allocations(), oob)) return oob ? Where::DeviceOutOfBounds : Where::Device;
    if (in(pinned_allocations(), oob)) return Where::Pinned;
    return Where::Host;
}

// ---- running queued work ----
cudaError_t execute(Op& op) {
    switch (op.kind) {
        case Op::Work: return op.work();
        case Op::Record:
            op.event->completed = std::max(op.event->completed, op.generation);
            op.event->time = std::chrono::steady_clock::now();
            return cudaSuccess;
        case Op::Wait: return cudaSuccess;  // only reached once the event has completed
    }
    return cudaSuccess;
}

cudaError_t run_front(CUstream_st* s);

// Runs `s` until `event` has completed `generation` records.
cudaError_t run_until(CUevent_st* event, uint64_t generation) {
    cudaError_t status = cudaSuccess;
    while (event->completed < generation) {
        CUstream_st* s = event->stream;
        if (!s || s->queue.empty()) break;  // recorded in a stream since destroyed: nothing will run
        const cudaError_t e = run_front(s);
        if (e != cudaSuccess && status == cudaSuccess) status = e;
    }
    return status;
}

bool ready(const CUstream_st* s) {
    if (s->queue.empty()) return false;
    const Op& op = s->queue.front();
    return op.kind != Op::Wait || op.event->completed >= op.generation;
}

// With a seed, other streams move at random points too: more interleavings than "as late
// as possible", each reproducible from its seed.
cudaError_t maybe_interleave(CUstream_st* target) {
    if (seed == 0 || rng()() % 2 == 0) return cudaSuccess;
    std::vector<CUstream_st*> candidates;
    for (CUstream_st* s : streams())
        if (s != target && ready(s)) candidates.push_back(s);
    if (candidates.empty()) return cudaSuccess;
    CUstream_st* s = candidates[rng()() % candidates.size()];
    Op op = std::move(s->queue.front());
    s->queue.pop_front();
    return execute(op);
}

cudaError_t run_front(CUstream_st* s) {
    if (s->queue.front().kind == Op::Wait) {
        Op& wait = s->queue.front();
        if (wait.event->completed < wait.generation) return run_until(wait.event, wait.generation);
    }
    if (const cudaError_t e = maybe_interleave(s); e != cudaSuccess) return e;
    if (s->queue.empty()) return cudaSuccess;
    Op op = std::move(s->queue.front());
    s->queue.pop_front();
    return execute(op);
}

cudaError_t drain(CUstream_st* s) {
    cudaError_t status = cudaSuccess;
    while (!s->queue.empty()) {
        const cudaError_t e = run_front(s);
        if (e != cudaSuccess && status == cudaSuccess) status = e;
    }
    return status;
}

cudaError_t drain_all() {
    cudaError_t status = cudaSuccess;
    for (;;) {
        std::vector<CUstream_st*> busy;
        for (CUstream_st* s : streams())
            if (!s->queue.empty()) busy.push_back(s);
        if (busy.empty()) return status;
        CUstream_st* s = seed ? busy[rng()() % busy.size()] : busy.front();
        const cudaError_t e = run_front(s);
        if (e != cudaSuccess && status == cudaSuccess) status = e;
    }
}

bool capturing_globally() {
    for (CUstream_st* s : streams())
        if (s->capture && s->capture_mode == cudaStreamCaptureModeGlobal) return true;
    return false;
}

// Issues `op` on `s`: recorded when `s` is capturing, run now or queued otherwise. The
// legacy default stream waits for, and is waited for by, every blocking stream.
cudaError_t enqueue(CUstream_st* s, Op op) {
    init_mode();
    if (!valid(s)) return fail(cudaErrorInvalidResourceHandle, "a call names a stream that does not exist (destroyed?)");
    if (s->capture) {
        if (op.kind == Op::Work) s->capture->ops.push_back(std::move(op));
        return cudaSuccess;
    }
    if (!deferred) {
        const cudaError_t e = execute(op);
        if (e != cudaSuccess) last_error = e;
        return e;
    }
    if (!(s->flags & cudaStreamNonBlocking)) {
        if (s == &legacy_stream) {
            for (CUstream_st* o : streams())
                if (o != s && !(o->flags & cudaStreamNonBlocking)) drain(o);
        } else {
            drain(&legacy_stream);
        }
    }
    s->queue.push_back(std::move(op));
    return cudaSuccess;
}

cudaError_t host_waits(CUstream_st* s) {
    if (s->capture) {
        s->capture->invalidated = true;
        return fail(cudaErrorStreamCaptureUnsupported, "a host synchronisation with a stream that is being captured");
    }
    const cudaError_t e = drain(s);
    if (e != cudaSuccess) last_error = e;
    return e;
}

size_t round_up_256(size_t n) { return (n + 255) / 256 * 256; }

}  // namespace

// ---- emulator controls (runtime.h) ----
void set_stream_mode(bool deferred_mode, uint64_t stream_seed) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    init_mode();
    drain_all();
    deferred = deferred_mode;
    seed = stream_seed;
    rng().seed(seed);
}

bool deferred_streams() {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    init_mode();
    return deferred;
}

// Profiling mode (core/emu/profile.h): a copy of the allocation registry, taken when a launch
// begins (kernels cannot allocate), so that worker threads can classify addresses without
// api_mutex, which the launching thread holds while the grid runs.
std::vector<std::pair<uintptr_t, size_t>> device_allocations_snapshot() {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    return {device_allocations().begin(), device_allocations().end()};
}

void set_max_dynamic_shared(const char* kernel, int bytes) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    dynamic_shared_limits()[kernel] = bytes;
}

void launch(const LaunchConfig& config, std::function<void()> body) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    const dim3 g = config.grid, b = config.block;
    // The message is only built for a launch that fails: this runs for every kernel.
    auto where = [&] {
        std::ostringstream s;
        s << "launch of " << config.kernel << " at " << config.file << ":" << config.line << " with grid (" << g.x << ","
          << g.y << "," << g.z << "), block (" << b.x << "," << b.y << "," << b.z << "), " << config.shared_bytes
          << " bytes of dynamic shared memory: ";
        return s.str();
    };
    // The limits of compute capability 9.0 (CUDA C Programming Guide, "Compute Capabilities").
    const uint64_t threads = uint64_t(b.x) * b.y * b.z;
    const char* bad = nullptr;
    if (g.x == 0 || g.y == 0 || g.z == 0 || threads == 0) bad = "a dimension is zero";
    else if (threads > 1024) bad = "more than 1024 threads per block";
    else if (b.x > 1024 || b.y > 1024 || b.z > 64) bad = "block dimensions above (1024, 1024, 64)";
    else if (g.x > 2147483647u || g.y > 65535 || g.z > 65535) bad = "grid dimensions above (2^31-1, 65535, 65535)";
    if (bad) {
        fail(cudaErrorInvalidConfiguration, where() + bad + " (cudaErrorInvalidConfiguration)");
        return;
    }
    size_t limit = 48 << 10;
    if (auto it = dynamic_shared_limits().find(config.kernel); it != dynamic_shared_limits().end()) limit = size_t(it->second);
    if (config.shared_bytes > limit || config.shared_bytes > (227u << 10)) {
        fail(cudaErrorInvalidValue, where() + "more dynamic shared memory than " + std::to_string(limit) +
                                        " bytes (above 48 KiB needs cudaFuncAttributeMaxDynamicSharedMemorySize, at most 227 KiB)");
        return;
    }
    CUstream_st* s = resolve(static_cast<cudaStream_t>(config.stream));
    Op op;
    op.work = [config, body = std::move(body)]() -> cudaError_t {
        if (run_grid(config, body)) return cudaSuccess;
        last_error = cudaErrorLaunchFailure;
        error_detail = last_diagnostic();
        return cudaErrorLaunchFailure;
    };
    enqueue(s, std::move(op));
}

}  // namespace ganops_emu

using namespace ganops_emu;

// ---- device ----
cudaError_t cudaGetDeviceCount(int* count) {
    *count = 1;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
    *device = 0;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
    return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice, "cudaSetDevice: the emulator has one device, 0");
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
    if (device != 0) return fail(cudaErrorInvalidDevice, "cudaGetDeviceProperties: the emulator has one device, 0");
    *prop = cudaDeviceProp{};
    std::snprintf(prop->name, sizeof prop->name, "ganops CPU emulator (H100 limits)");
    prop->totalGlobalMem = kDeviceMemory;
    prop->sharedMemPerBlock = 48 << 10;
    prop->sharedMemPerBlockOptin = 227 << 10;
    prop->sharedMemPerMultiprocessor = 228 << 10;
    prop->regsPerBlock = 65536;
    prop->regsPerMultiprocessor = 65536;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = 1024;
    prop->maxThreadsDim[0] = 1024, prop->maxThreadsDim[1] = 1024, prop->maxThreadsDim[2] = 64;
    prop->maxGridSize[0] = 2147483647, prop->maxGridSize[1] = 65535, prop->maxGridSize[2] = 65535;
    prop->major = 9, prop->minor = 0;
    prop->multiProcessorCount = 132;
    prop->l2CacheSize = 50 << 20;
    prop->maxThreadsPerMultiProcessor = 2048;
    prop->totalConstMem = 64 << 10;
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    init_mode();
    const cudaError_t e = drain_all();
    if (e != cudaSuccess) last_error = e;
    return e;
}
cudaError_t cudaRuntimeGetVersion(int* version) {
    *version = 13000;
    return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* version) {
    *version = 13000;
    return cudaSuccess;
}
cudaError_t cudaGetLastError() {
    const cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError() { return last_error; }

const char* cudaGetErrorName(cudaError_t error) {
    switch (error) {
#define GANOPS_EMU_NAME(e) \
    case e: return #e;
        GANOPS_EMU_NAME(cudaSuccess)
        GANOPS_EMU_NAME(cudaErrorInvalidValue)
        GANOPS_EMU_NAME(cudaErrorMemoryAllocation)
        GANOPS_EMU_NAME(cudaErrorInitializationError)
        GANOPS_EMU_NAME(cudaErrorInvalidConfiguration)
        GANOPS_EMU_NAME(cudaErrorInvalidDevicePointer)
        GANOPS_EMU_NAME(cudaErrorInvalidMemcpyDirection)
        GANOPS_EMU_NAME(cudaErrorInsufficientDriver)
        GANOPS_EMU_NAME(cudaErrorNoDevice)
        GANOPS_EMU_NAME(cudaErrorInvalidDevice)
        GANOPS_EMU_NAME(cudaErrorInvalidResourceHandle)
        GANOPS_EMU_NAME(cudaErrorIllegalState)
        GANOPS_EMU_NAME(cudaErrorNotReady)
        GANOPS_EMU_NAME(cudaErrorIllegalAddress)
        GANOPS_EMU_NAME(cudaErrorLaunchOutOfResources)
        GANOPS_EMU_NAME(cudaErrorLaunchFailure)
        GANOPS_EMU_NAME(cudaErrorStreamCaptureUnsupported)
        GANOPS_EMU_NAME(cudaErrorStreamCaptureInvalidated)
        GANOPS_EMU_NAME(cudaErrorStreamCaptureUnjoined)
        GANOPS_EMU_NAME(cudaErrorStreamCaptureImplicit)
#undef GANOPS_EMU_NAME
    }
    return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
    // The emulator knows why: the last diagnostic of this thread travels in the message.
    thread_local std::string text;
    const char* base = "unknown error";
    switch (error) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: base = "invalid argument"; break;
        case cudaErrorMemoryAllocation: base = "out of memory"; break;
        case cudaErrorInvalidConfiguration: base = "invalid configuration argument"; break;
        case cudaErrorInvalidResourceHandle: base = "invalid resource handle"; break;
        case cudaErrorNotReady: return "device not ready";
        case cudaErrorLaunchFailure: base = "unspecified launch failure"; break;
        case cudaErrorStreamCaptureUnsupported: base = "operation not permitted when stream is capturing"; break;
        case cudaErrorStreamCaptureInvalidated: base = "operation failed due to a previous error during capture"; break;
        default: base = cudaGetErrorName(error); break;
    }
    text = error_detail.empty() ? std::string(base) : std::string(base) + " [emulator: " + error_detail + "]";
    return text.c_str();
}

// ---- memory ----
cudaError_t cudaMalloc(void** ptr, size_t bytes) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    *ptr = nullptr;
    if (bytes == 0) return cudaSuccess;
    if (capturing_globally())
        return fail(cudaErrorStreamCaptureUnsupported, "cudaMalloc while a stream is being captured (cudaStreamCaptureModeGlobal)");
    if (device_bytes + round_up_256(bytes) > kDeviceMemory)
        return fail(cudaErrorMemoryAllocation, "cudaMalloc(" + std::to_string(bytes) + "): out of the emulated 80 GiB");
    void* p = nullptr;
    // Exactly `bytes` (not rounded up): AddressSanitizer then catches the first byte past the end.
    if (posix_memalign(&p, 256, bytes) != 0) return fail(cudaErrorMemoryAllocation, "cudaMalloc: host allocation failed");
    std::memset(p, 0xFF, bytes);  // never zeros: uninitialised reads show up as NaN
    device_allocations()[reinterpret_cast<uintptr_t>(p)] = bytes;
    device_bytes += round_up_256(bytes);
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    if (!ptr) return cudaSuccess;
    init_mode();
    auto it = device_allocations().find(reinterpret_cast<uintptr_t>(ptr));
    if (it == device_allocations().end())
        return fail(cudaErrorInvalidValue, "cudaFree(" + hex(ptr) + "): not the start of a live device allocation");
    drain_all();  // cudaFree synchronises the device
    device_bytes -= round_up_256(it->second);
    device_allocations().erase(it);
    std::free(ptr);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    *ptr = std::malloc(bytes ? bytes : 1);
    if (!*ptr) return fail(cudaErrorMemoryAllocation, "cudaMallocHost: host allocation failed");
    pinned_allocations()[reinterpret_cast<uintptr_t>(*ptr)] = bytes;
    return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) { return cudaMallocHost(ptr, bytes); }
cudaError_t cudaFreeHost(void* ptr) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    if (!ptr) return cudaSuccess;
    if (!pinned_allocations().erase(reinterpret_cast<uintptr_t>(ptr)))
        return fail(cudaErrorInvalidValue, "cudaFreeHost(" + hex(ptr) + "): not pinned memory from cudaMallocHost");
    cudaDeviceSynchronize();
    std::free(ptr);
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    *total = kDeviceMemory;
    *free = kDeviceMemory - device_bytes;
    return cudaSuccess;
}

namespace {
// Checks a device range of a copy or memset; names the call and the pointer when wrong.
cudaError_t check_range(const char* call, const char* side, const void* p, size_t bytes, bool must_be_device, Where& where) {
    where = locate(p, bytes);
    if (where == Where::DeviceOutOfBounds) {
        const auto at = reinterpret_cast<uintptr_t>(p);
        auto it = std::prev(device_allocations().upper_bound(at));
        return fail(cudaErrorInvalidValue, std::string(call) + ": " + side + " range [" + hex(p) + ", +" + std::to_string(bytes) +
                                               ") runs past the end of its device allocation of " + std::to_string(it->second) +
                                               " bytes at offset " + std::to_string(at - it->first));
    }
    if (must_be_device && where != Where::Device)
        return fail(cudaErrorInvalidValue, std::string(call) + ": " + side + " " + hex(p) + " is not device memory");
    return cudaSuccess;
}

cudaError_t copy(const char* call, void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream, bool host_sync) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    init_mode();
    if (bytes == 0) return cudaSuccess;
    if (int(kind) < 0 || int(kind) > 4) return fail(cudaErrorInvalidMemcpyDirection, std::string(call) + ": invalid cudaMemcpyKind");
    const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    Where dst_where, src_where;
    if (cudaError_t e = check_range(call, "destination", dst, bytes, dst_dev, dst_where); e != cudaSuccess) return e;
    if (cudaError_t e = check_range(call, "source", src, bytes, src_dev, src_where); e != cudaSuccess) return e;
    CUstream_st* s = resolve(stream);
    Op op;
    // Pageable host memory: a host-to-device copy takes its source now (the caller may reuse
    // it once the call returns); a device-to-host copy completes before the call returns.
    if (src_where == Where::Host && deferred) {
        auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                                   static_cast<const unsigned char*>(src) + bytes);
        op.work = [dst, staged] {
            std::memcpy(dst, staged->data(), staged->size());
            return cudaSuccess;
        };
    } else {
        op.work = [dst, src, bytes] {
            std::memmove(dst, src, bytes);
            return cudaSuccess;
        };
    }
    if (cudaError_t e = enqueue(s, std::move(op)); e != cudaSuccess) return e;
    if (host_sync || dst_where == Where::Host) return host_waits(s);
    return cudaSuccess;
}

cudaError_t set(const char* call, void* dst, int value, size_t bytes, cudaStream_t stream) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    if (bytes == 0) return cudaSuccess;
    Where where;
    if (cudaError_t e = check_range(call, "destination", dst, bytes, true, where); e != cudaSuccess) return e;
    Op op;
    op.work = [dst, value, bytes] {
        std::memset(dst, value, bytes);
        return cudaSuccess;
    };
    return enqueue(resolve(stream), std::move(op));
}
}  // namespace

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
    return copy("cudaMemcpy", dst, src, bytes, kind, nullptr, true);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
    return copy("cudaMemcpyAsync", dst, src, bytes, kind, stream, false);
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) { return set("cudaMemset", dst, value, bytes, nullptr); }
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
    return set("cudaMemsetAsync", dst, value, bytes, stream);
}

// ---- streams ----
cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    auto* s = new CUstream_st;
    s->flags = flags;
    streams().insert(s);
    *stream = s;
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    CUstream_st* s = stream;
    if (!s || s == &legacy_stream || !valid(s)) return fail(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: not a live stream");
    // Work already issued still completes, as on a GPU.
    drain(s);
    for (CUevent_st* e : events())
        if (e->stream == s) e->stream = nullptr;
    streams().erase(s);
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    init_mode();
    CUstream_st* s = resolve(stream);
    if (!valid(s)) return fail(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: not a live stream");
    return host_waits(s);
}
cudaError_t cudaStreamQuery(cudaStream_t stream) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    CUstream_st* s = resolve(stream);
    if (!valid(s)) return fail(cudaErrorInvalidResourceHandle, "cudaStreamQuery: not a live stream");
    return s->queue.empty() ? cudaSuccess : cudaErrorNotReady;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    CUstream_st* s = resolve(stream);
    if (!valid(s) || !events().count(event)) return fail(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: not a live stream and event");
    if (event->recorded == 0) return cudaSuccess;  // never recorded: nothing to wait for
    // Waiting on an event recorded in a capture joins this stream to that capture.
    if (!s->capture && event->stream && event->stream->capture && event->completed < event->recorded) {
        s->capture = event->stream->capture;
        s->capture_mode = event->stream->capture_mode;
        return cudaSuccess;
    }
    Op op;
    op.kind = Op::Wait;
    op.event = event;
    op.generation = event->recorded;
    return enqueue(s, std::move(op));
}

// ---- events ----
cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    auto* e = new CUevent_st;
    e->flags = flags;
    events().insert(e);
    *event = e;
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    if (!events().erase(event)) return fail(cudaErrorInvalidResourceHandle, "cudaEventDestroy: not a live event");
    // Queued waits and records may still name it: keep the object (a few bytes) alive.
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    CUstream_st* s = resolve(stream);
    if (!valid(s) || !events().count(event)) return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord: not a live stream and event");
    event->stream = s;
    const uint64_t generation = ++event->recorded;
    if (s->capture) {
        // Inside a capture the record orders the captured work only; replay is in issue order.
        event->completed = generation - 1;
        return cudaSuccess;
    }
    Op op;
    op.kind = Op::Record;
    op.event = event;
    op.generation = generation;
    return enqueue(s, std::move(op));
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    if (!events().count(event)) return fail(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: not a live event");
    const cudaError_t e = run_until(event, event->recorded);
    if (e != cudaSuccess) last_error = e;
    return e;
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    if (!events().count(event)) return fail(cudaErrorInvalidResourceHandle, "cudaEventQuery: not a live event");
    return event->completed >= event->recorded ? cudaSuccess : cudaErrorNotReady;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    if (!events().count(start) || !events().count(end)) return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: not live events");
    if ((start->flags | end->flags) & cudaEventDisableTiming)
        return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: an event was created with cudaEventDisableTiming");
    if (start->completed == 0 || end->completed == 0 || start->completed < start->recorded || end->completed < end->recorded)
        return cudaErrorNotReady;
    *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
    return cudaSuccess;
}

// ---- stream capture and graphs ----
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    CUstream_st* s = resolve(stream);
    if (s == &legacy_stream) return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamBeginCapture: the legacy default stream cannot be captured");
    if (!valid(s)) return fail(cudaErrorInvalidResourceHandle, "cudaStreamBeginCapture: not a live stream");
    if (s->capture) return fail(cudaErrorIllegalState, "cudaStreamBeginCapture: the stream is already capturing");
    // Work issued before the capture is not part of it.
    drain(s);
    s->capture = new CUgraph_st;
    s->capture->origin = s;
    s->capture_mode = mode;
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    CUstream_st* s = resolve(stream);
    *graph = nullptr;
    if (!valid(s) || !s->capture) return fail(cudaErrorIllegalState, "cudaStreamEndCapture: the stream is not capturing");
    if (s->capture->origin != s) return fail(cudaErrorStreamCaptureUnjoined, "cudaStreamEndCapture: not the stream that began the capture");
    CUgraph_st* g = s->capture;
    for (CUstream_st* o : streams())
        if (o->capture == g) o->capture = nullptr;
    if (g->invalidated) {
        delete g;
        return fail(cudaErrorStreamCaptureInvalidated, "cudaStreamEndCapture: the capture was invalidated by an earlier error");
    }
    *graph = g;
    return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    CUstream_st* s = resolve(stream);
    if (!valid(s)) return fail(cudaErrorInvalidResourceHandle, "cudaStreamIsCapturing: not a live stream");
    *status = !s->capture ? cudaStreamCaptureStatusNone
                          : (s->capture->invalidated ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive);
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    if (!graph) return fail(cudaErrorInvalidValue, "cudaGraphInstantiate: no graph");
    *exec = new CUgraphExec_st{graph->ops};
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex);
    if (!exec) return fail(cudaErrorInvalidValue, "cudaGraphLaunch: no executable graph");
    CUstream_st* s = resolve(stream);
    for (const Op& op : exec->ops)
        if (cudaError_t e = enqueue(s, op); e != cudaSuccess) return e;
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    delete graph;
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    delete exec;
    return cudaSuccess;
}
