// Trains one step of a small discriminator through the installed headers and library, and
// checks that the loss went down: proof that the package is usable, not only linkable.
#include <ganops/ganops.h>

#include <cstdio>

int main() {
    using namespace ganops;
    manual_seed(7);
    nn::DcganConfig config;
    config.nc = 1;
    config.ndf = 4;
    config.image_size = 16;
    nn::DcganDiscriminator d(config);
    nn::dcgan_init(d);
    nn::Adam adam(d.parameters(), {.lr = 1e-2, .beta1 = 0.5});
    Generator gen{1, 0};
    const Tensor x = Tensor::uniform({8, 1, 16, 16}, -1, 1, gen);
    const Tensor ones = Tensor::full({8}, 1.0);
    double first = 0, last = 0;
    for (int step = 0; step < 5; ++step) {
        adam.zero_grad();
        Tensor loss = binary_cross_entropy(d(x), ones);
        loss.backward();
        adam.step();
        (step == 0 ? first : last) = loss.item();
    }
    std::printf("consumer: loss %.4f -> %.4f, cuda available: %s\n", first, last, cuda::available() ? "yes" : "no");
    return last < first ? 0 : 1;
}
