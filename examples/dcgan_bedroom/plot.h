// The loss curves of a run as a PNG (Loss_D and Loss_G against the iteration), drawn here
// with a built-in 3x5 pixel font so that no plotting library is needed.
#pragma once
#include <string>
#include <vector>

#include "image.h"

namespace dcgan {

// NaN entries (iterations without a generator step) are left out. Throws on I/O errors.
Image plot_losses(const std::vector<float>& loss_d, const std::vector<float>& loss_g);
void save_loss_plot(const std::vector<float>& loss_d, const std::vector<float>& loss_g, const std::string& path);

}  // namespace dcgan
