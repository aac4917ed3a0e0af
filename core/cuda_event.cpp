#include "cuda_event.h"

#include "cuda_check.h"
#include "cuda_counters.h"

namespace ganops::cuda {

Event::Event() { GANOPS_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }
Event::~Event() {
    if (event_) cudaEventDestroy(event_);
}
void Event::record(Stream stream) { GANOPS_CUDA_CHECK(cudaEventRecord(event_, stream)); }
void Event::wait(Stream stream) { GANOPS_CUDA_CHECK(cudaStreamWaitEvent(stream, event_, 0)); }
bool Event::done() const {
    const cudaError_t status = cudaEventQuery(event_);
    if (status == cudaErrorNotReady) {
        cudaGetLastError();  // not an error
        return false;
    }
    GANOPS_CUDA_CHECK(status);
    return true;
}
void Event::synchronize() {
    count_host_sync();
    GANOPS_CUDA_CHECK(cudaEventSynchronize(event_));
}

PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
    GANOPS_CUDA_CHECK(cudaHostAlloc(&data_, bytes ? bytes : 1, cudaHostAllocDefault));
}
PinnedBuffer::~PinnedBuffer() {
    if (data_) cudaFreeHost(data_);
}

void copy_to_device_async(void* device_dst, const PinnedBuffer& src, size_t bytes, Stream stream) {
    GANOPS_CHECK(bytes <= src.size(), "cuda::copy_to_device_async: ", bytes, " bytes from a pinned buffer of ", src.size());
    if (bytes) GANOPS_CUDA_CHECK(cudaMemcpyAsync(device_dst, src.data(), bytes, cudaMemcpyHostToDevice, stream));
}

}  // namespace ganops::cuda
