// Writes one float past the end of a device buffer. Run under AddressSanitizer (the emulated
// suite's CI step), which must report a heap-buffer-overflow in off_by_one_kernel: the
// emulator's equivalent of compute-sanitizer memcheck. Not a Catch2 test: ASan ends the
// process, and ctest checks what it printed.
#include <cuda_runtime.h>

#include <cstdio>

#include "kernels/cuda/launch.cuh"

__global__ void off_by_one_kernel(float* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) out[i] = 1.0f;  // should be i < n
}

int main() {
    const int n = 100;
    float* out = nullptr;
    if (cudaMalloc(&out, n * sizeof(float)) != cudaSuccess) return 2;
    GANOPS_LAUNCH(off_by_one_kernel, 1, 128, 0, nullptr)(out, n);
    cudaDeviceSynchronize();
    std::printf("no error was reported\n");
    return 0;
}
