// cuDNN helpers for the benchmarks that compare with it. cuDNN is a benchmark-only
// dependency: libganops never includes or links it.
#pragma once
#include <cudnn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "bench_common.h"

// Every cuDNN call goes through this: on failure it prints the call, cuDNN's error string
// and its last detailed message, and exits with status 4.
#define BENCH_CUDNN(call)                                                                              \
    do {                                                                                               \
        const cudnnStatus_t bench_status_ = (call);                                                    \
        if (bench_status_ != CUDNN_STATUS_SUCCESS) {                                                   \
            char bench_detail_[512] = {0};                                                             \
            cudnnGetLastErrorString(bench_detail_, sizeof bench_detail_);                              \
            std::fprintf(stderr, "cuDNN error: %s failed: %s (%s:%d)\n  detail: %s\n", #call,          \
                         cudnnGetErrorString(bench_status_), __FILE__, __LINE__, bench_detail_);       \
            std::fflush(stdout);                                                                       \
            std::exit(4);                                                                              \
        }                                                                                              \
    } while (0)

namespace bench {

// A cuDNN handle on stream(), with the library version printed and checked against the
// headers' major version.
inline cudnnHandle_t make_cudnn_handle() {
    const size_t version = cudnnGetVersion();
    std::printf("cuDNN: headers %d.%d.%d, library %zu.%zu.%zu\n", CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL,
                version / 10000, (version % 10000) / 100, version % 100);
    if (version / 10000 != size_t(CUDNN_MAJOR)) {
        std::fprintf(stderr, "cuDNN library major version %zu does not match the headers' %d\n", version / 10000,
                     CUDNN_MAJOR);
        std::exit(4);
    }
    cudnnHandle_t handle = nullptr;
    BENCH_CUDNN(cudnnCreate(&handle));
    BENCH_CUDNN(cudnnSetStream(handle, stream()));
    return handle;
}

// A fully packed NCHW float32 tensor descriptor.
inline cudnnTensorDescriptor_t make_tensor(int64_t n, int64_t c, int64_t h, int64_t w) {
    cudnnTensorDescriptor_t d = nullptr;
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&d));
    BENCH_CUDNN(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(n), int(c), int(h), int(w)));
    return d;
}

}  // namespace bench
