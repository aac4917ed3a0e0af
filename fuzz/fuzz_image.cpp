// Image decoding (PNG, JPEG, WebP as datasets store them) and the resize/crop that turns a
// decoded picture into a training sample. Expected outcome for bad bytes: DecodeError.
#include <vector>

#include "fuzz_target.h"
#include "image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const dcgan::Image image = dcgan::decode_image(data, size, "fuzz.img");
        if (image.width <= 0 || image.height <= 0 ||
            image.pixels.size() != size_t(image.width * image.height * image.channels))
            __builtin_trap();
        std::vector<float> sample(3 * 8 * 8);
        dcgan::resize_crop_normalise(image, 8, 3, sample.data());
    } catch (const dcgan::DecodeError&) {
    }
    return 0;
}
