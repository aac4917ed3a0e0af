// Checkpoints and weights (nn/checkpoint.h): the safetensors header (JSON), tensor
// descriptions, data ranges, dtype conversion, and loading into a model (names, shapes,
// finiteness). Expected outcome for bad bytes: ganops::Error.
#include <ganops/ganops.h>

#include "fuzz_target.h"

using namespace ganops;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // A tiny DCGAN, so that files naming its tensors reach the shape and value checks.
    static nn::DcganGenerator netG(nn::DcganConfig{.nz = 2, .ngf = 2, .ndf = 2, .nc = 1, .image_size = 16});
    try {
        const nn::SafetensorsFile file = nn::decode_safetensors(data, size, "fuzz.safetensors");
        for (const auto& [name, stored] : file.tensors) {
            try {
                if (stored.dtype == "I64") nn::i64_scalar_from_stored(stored, name);
                else nn::tensor_from_stored(stored, DType::F64);
            } catch (const Error&) {
            }
        }
        nn::load_state_dict(netG, file, "fuzz.safetensors", "", /*strict=*/false);
        nn::load_state_dict(netG, file, "fuzz.safetensors", "netG.", /*strict=*/true);
    } catch (const Error&) {
    }
    return 0;
}
