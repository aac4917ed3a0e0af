// Internal to the library: the caching allocator's side of CUDA graph capture
// (core/cuda_graph.h), implemented in cuda_allocator.cpp.
#pragma once
#include "cuda_device.h"

namespace ganops::cuda {

// Graph pools, for CUDA graph capture (core/cuda_graph.h). Between begin_graph_pool(s) and
// end_graph_pool(), blocks allocated on stream s are noted; end_graph_pool() gives them to a
// new pool: while it lives, they are handed out to nobody (free ones are held, the others
// join it when freed), since the captured graph reads and writes them on every replay.
// release_graph_pool returns them to their streams' pools once the graph is destroyed.
void begin_graph_pool(Stream stream);
int end_graph_pool();
void release_graph_pool(int pool);

}  // namespace ganops::cuda
