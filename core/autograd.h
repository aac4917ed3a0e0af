// Reverse-mode automatic differentiation over a graph recorded as ops run.
//
// Each differentiable op that sees an input requiring a gradient attaches a Node to its
// output: the inputs, and a function from the output's gradient to the inputs' gradients.
// backward() walks the nodes reachable from a tensor in reverse topological order, so a
// tensor used by several ops (or by several graphs, as the fake batch is in a GAN step)
// receives the sum of its gradients, and leaves accumulate into .grad across calls until
// zeroed. Graphs are not freed by backward() unless asked (SavedTensors::Free): calling it
// again through the same graph is allowed and accumulates again.
//
// Memory: a node keeps only what its backward function captured (the tensors saved for
// backward) and, per input, an Edge: the node that produced it, or the leaf itself. It
// does not keep a produced input's data, so an activation that no backward needs is freed
// as soon as the forward pass drops it (a ReLU that saves its output frees its input,
// which batchnorm's backward does not need either).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor.h"

namespace ganops {

// grad_output -> one gradient per input (undefined where none flows). `needs_grad[i]` says
// whether input i wants a gradient, so that work nobody reads is skipped.
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad_output, const std::vector<bool>& needs_grad)>;

struct Node;

// Where the gradient of one input of a node goes. Neither set: no gradient flows (an absent
// optional input, or one that did not require a gradient when the op ran).
struct Edge {
    Tensor leaf;                     // a leaf that requires a gradient: its .grad receives it
    std::shared_ptr<Node> producer;  // a recorded op's output: that op's node receives it
    Shape shape;                     // the input's shape, which its gradient must have
    bool flows() const { return leaf.defined() || producer != nullptr; }
};

struct Node {
    std::string name;           // the op, for messages
    std::vector<Edge> inputs;   // one per input of the op, in order
    BackwardFn backward;
};

bool grad_mode_enabled();

// Ops run inside this scope record nothing (evaluation, optimizer updates, sampling).
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

// Called by every differentiable op after computing `output`: attaches a node when grad
// mode is on and some input requires a gradient. Returns the output.
Tensor record(const char* name, Tensor output, std::vector<Tensor> inputs, BackwardFn backward);

// What a backward pass does with the tensors each node saved for backward once that node's
// backward has run. Keep (the default) allows another backward through the same graph;
// Free releases them at once, as PyTorch does without retain_graph, so the memory of the
// activations goes back to the caching allocator while the pass runs and the input and
// weight gradients of the earlier layers reuse it. A later backward through a freed node
// fails, naming it.
enum class SavedTensors { Keep, Free };

// Gradient of `root` with respect to every leaf that requires one. grad_output defaults
// to 1 for a one-element root.
void backward(const Tensor& root, const Tensor& grad_output = Tensor(), SavedTensors saved = SavedTensors::Keep);

// As above, but only the leaves in `inputs` receive a gradient (added to their .grad), as
// torch.autograd.backward(inputs=...) does: every other leaf's .grad is left as it is, and
// work that only they would need is not done (the backward functions see needs_grad false
// for an input unless a gradient to one of `inputs` flows through it; a convolution then
// skips its weight gradient). In a GAN's generator step, pass G's parameters: D's weight
// gradients are never computed.
void backward(const Tensor& root, const Tensor& grad_output, const std::vector<Tensor>& inputs,
              SavedTensors saved = SavedTensors::Keep);

// Gradient-ready hooks, for work that can start on a leaf's gradient while backward()
// goes on with the rest of the graph (a data-parallel all-reduce). While a
// GradientReadyHook lives, backward() (not grad()) calls it on this thread once for every
// leaf that requires a gradient and that the pass reaches (with `inputs`, only those), as
// soon as the leaf's gradient in this pass is final: right after the last node of the pass
// that takes the leaf as an input has run (the pass runs nodes in a fixed reverse
// topological order), so leaf.grad() then holds everything this pass adds to it. Nodes that
// do not lead to the leaf may still be waiting. A node that no gradient reached still counts
// as run. "Final" is for this pass: a later backward() that reaches the leaf adds to .grad
// again, so work started on it belongs in the last backward() before the gradients are used.
// On a GPU, final in stream order: work queued on the current stream from the call on sees it.
// Hooks are called in the order they were made; each is removed when it is destroyed.
class GradientReadyHook {
public:
    explicit GradientReadyHook(std::function<void(const Tensor& leaf)> on_ready);
    ~GradientReadyHook();
    GradientReadyHook(const GradientReadyHook&) = delete;
    GradientReadyHook& operator=(const GradientReadyHook&) = delete;
    void operator()(const Tensor& leaf) const { on_ready_(leaf); }

private:
    std::function<void(const Tensor& leaf)> on_ready_;
};

// The gradients of `root` with respect to `inputs` (leaves or intermediate tensors that
// `root` depends on through recorded ops), returned in order, like torch.autograd.grad:
// no .grad is read or written anywhere, and only the work these gradients need is done.
// An input that `root` does not depend on gets an undefined tensor.
std::vector<Tensor> grad(const Tensor& root, const std::vector<Tensor>& inputs, const Tensor& grad_output = Tensor());

}  // namespace ganops
