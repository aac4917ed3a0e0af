// Synchronised batchnorm: in training, every replica normalises with the statistics of the
// global batch (all ranks' shards together) instead of its own shard's, as
// torch.nn.SyncBatchNorm does, so N ranks compute what one process with the global batch
// computes. The per-channel statistics travel in Welford parts (count, mean, sum of
// squared deviations), combined in rank order with Chan's formula: the same bits on every
// rank and no cancellation of a sum of squares. Backward all-reduces, per channel, the sum
// of the output gradient and of its product with the normalised input.
//
// Cost per BatchNorm2d and step: two small collectives (2C and 2C + 1 numbers) that wait
// for each other's data (the forward's before the layer can go on), against none per
// replica. Evaluation mode is untouched (running statistics).
#pragma once
#include <memory>

#include "../batchnorm2d.h"
#include "communicator.h"

namespace ganops::dist {

std::shared_ptr<nn::BatchNormStatsSync> make_sync_batchnorm(Communicator& comm);

// Makes every BatchNorm2d in `module` synchronised across `comm` (each keeps its own
// parameters and running statistics). Returns how many it changed.
int convert_sync_batchnorm(nn::Module& module, Communicator& comm);

}  // namespace ganops::dist
