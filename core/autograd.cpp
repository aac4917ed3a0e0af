#include "autograd.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "../kernels/elementwise.h"

namespace ganops {

namespace {
thread_local bool grad_mode = true;
thread_local std::vector<const GradientReadyHook*> ready_hooks;  // in the order they were made

// Out of place on purpose: a backward function may hand the same tensor to several
// inputs (add does), so adding into a stored gradient could change another one.
Tensor accumulate(const Tensor& sum, const Tensor& term) {
    return sum.defined() ? kernels::add(sum, term) : term;
}

// Nodes reachable from `root`, each after every node that consumes its output.
std::vector<Node*> reverse_topological_order(Node* root) {
    std::vector<Node*> post_order;
    std::unordered_set<Node*> seen{root};
    std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
    while (!stack.empty()) {
        auto& [node, next_input] = stack.back();
        if (next_input < node->inputs.size()) {
            Node* child = node->inputs[next_input++].producer.get();
            if (child && seen.insert(child).second) stack.push_back({child, 0});
        } else {
            post_order.push_back(node);
            stack.pop_back();
        }
    }
    return {post_order.rbegin(), post_order.rend()};
}
}  // namespace

bool grad_mode_enabled() { return grad_mode; }

NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

GradientReadyHook::GradientReadyHook(std::function<void(const Tensor& leaf)> on_ready) : on_ready_(std::move(on_ready)) {
    ready_hooks.push_back(this);
}
GradientReadyHook::~GradientReadyHook() { std::erase(ready_hooks, this); }

Tensor record(const char* name, Tensor output, std::vector<Tensor> inputs, BackwardFn backward_fn) {
    if (!grad_mode) return output;
    bool any = false;
    for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
    if (!any) return output;
    auto node = std::make_shared<Node>();
    node->name = name;
    node->inputs.reserve(inputs.size());
    for (const Tensor& t : inputs) {
        Edge e;
        if (t.defined() && t.requires_grad()) {
            e.shape = t.shape();
            if (t.is_leaf())
                e.leaf = t;
            else
                e.producer = t.grad_fn();  // not the tensor: its data is freed when nothing else holds it
        }
        node->inputs.push_back(std::move(e));
    }
    node->backward = std::move(backward_fn);
    output.set_grad_fn(std::move(node));
    return output;
}

namespace {

// The tensors a backward pass delivers gradients to. Empty `tensors` with `all` set: every
// leaf that requires a gradient (plain backward()).
struct Targets {
    bool all = true;
    std::vector<Tensor> tensors;  // the requested tensors (compared by identity, is_same)
    bool contains(const Tensor& t) const {
        for (const Tensor& p : tensors)
            if (p.is_same(t)) return true;
        return false;
    }
    // A produced tensor is known by its node (one output per node): the edge keeps the node,
    // not the tensor.
    bool contains(const Edge& e) const {
        if (e.leaf.defined()) return contains(e.leaf);
        for (const Tensor& p : tensors)
            if (e.producer && p.grad_fn() == e.producer) return true;
        return false;
    }
};

// Nodes whose backward leads to a requested tensor, so that gradients of other inputs
// are not computed. Filled in reverse post order (inputs before the nodes that use them).
std::unordered_set<Node*> nodes_reaching(const std::vector<Node*>& order, const Targets& targets) {
    std::unordered_set<Node*> reaching;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node* node = *it;
        for (const Edge& input : node->inputs) {
            if (!input.flows()) continue;
            Node* child = input.producer.get();
            if (targets.contains(input) || (child && reaching.count(child))) {
                reaching.insert(node);
                break;
            }
        }
    }
    return reaching;
}

// For the gradient-ready hooks: each leaf the pass delivers to, under the position in
// `order` of the last node that takes it as an input (its gradient is final after that).
std::vector<std::vector<Tensor>> leaves_by_last_use(const std::vector<Node*>& order, const Targets& targets,
                                                    const std::unordered_set<Node*>& reaching) {
    std::vector<std::vector<Tensor>> by_position(order.size());
    std::vector<Tensor> seen;  // a few hundred leaves at most: a scan is cheap next to any op
    for (size_t at = order.size(); at-- > 0;) {
        if (!targets.all && !reaching.count(order[at])) continue;
        for (const Edge& edge : order[at]->inputs) {
            const Tensor& input = edge.leaf;  // defined only for a leaf that requires a gradient
            if (!input.defined()) continue;
            if (!targets.all && !targets.contains(input)) continue;
            if (std::any_of(seen.begin(), seen.end(), [&](const Tensor& t) { return t.is_same(input); })) continue;
            seen.push_back(input);
            by_position[at].push_back(input);
        }
    }
    return by_position;
}

void announce_ready(const Tensor& leaf) {
    for (size_t i = 0; i < ready_hooks.size(); ++i) (*ready_hooks[i])(leaf);  // a hook may add one
}

Tensor seed_gradient(const Tensor& root, const Tensor& grad_output, const char* op) {
    GANOPS_CHECK(root.defined(), op, ": called on an undefined tensor");
    GANOPS_CHECK(root.requires_grad(), op, ": tensor ", root.str(),
                 " does not require grad (no input of the ops that made it requires grad)");
    Tensor seed = grad_output;
    if (!seed.defined()) {
        GANOPS_CHECK(root.numel() == 1, op, ": tensor ", root.str(),
                     " has more than one element; pass grad_output explicitly");
        seed = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
    }
    GANOPS_CHECK(seed.shape() == root.shape() && seed.dtype() == root.dtype() &&
                     seed.device() == root.device(),
                 op, ": grad_output ", seed.str(), " does not match tensor ", root.str());
    return seed;
}

// The reverse pass shared by backward() and grad(). A gradient reaching a requested
// tensor goes to `deliver(tensor, gradient)`: once per leaf input that receives one, and
// once for an intermediate tensor, with the sum of everything that flowed into it. With
// `announce`, the gradient-ready hooks hear of each leaf once its gradient is final.
template <typename Deliver>
void run_backward(const Tensor& root, const Tensor& seed, const Targets& targets, SavedTensors saved, Deliver deliver,
                  bool announce = false) {
    NoGradGuard no_grad;  // gradients are values, not new graphs
    announce = announce && !ready_hooks.empty();
    if (root.is_leaf()) {
        if (targets.all || targets.contains(root)) {
            deliver(root, seed);
            if (announce) announce_ready(root);
        }
        return;
    }
    const std::vector<Node*> order = reverse_topological_order(root.grad_fn().get());
    std::unordered_set<Node*> reaching;
    if (!targets.all) reaching = nodes_reaching(order, targets);
    // An intermediate tensor asked for is known by its grad_fn (one output per node).
    std::unordered_map<Node*, Tensor> wanted;
    if (!targets.all)
        for (const Tensor& t : targets.tensors)
            if (t.grad_fn()) wanted[t.grad_fn().get()] = t;  // a node not in `order` is never reached

    std::vector<std::vector<Tensor>> ready_after;  // leaves whose gradient is final after order[at]
    if (announce) ready_after = leaves_by_last_use(order, targets, reaching);
    size_t announced = 0;  // order[0, announced) have had their leaves announced
    auto announce_until = [&](size_t end) {
        for (; announce && announced < end; ++announced)
            for (const Tensor& leaf : ready_after[announced]) announce_ready(leaf);
    };

    std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), seed}};
    for (size_t at = 0; at < order.size(); ++at) {
        announce_until(at);  // every node before this one has run (or had nothing to do)
        Node* node = order[at];
        auto it = pending.find(node);
        if (it == pending.end()) continue;
        const Tensor grad = it->second;
        pending.erase(it);
        if (auto w = wanted.find(node); w != wanted.end()) deliver(w->second, grad);
        if (!targets.all && !reaching.count(node)) continue;

        std::vector<bool> needs(node->inputs.size());
        for (size_t i = 0; i < needs.size(); ++i) {
            const Edge& input = node->inputs[i];
            needs[i] = input.flows();
            if (needs[i] && !targets.all) {
                Node* child = input.producer.get();
                needs[i] = targets.contains(input) || (child && reaching.count(child));
            }
        }
        GANOPS_CHECK(node->backward, "backward: the graph through ", node->name,
                     " was freed by an earlier backward (SavedTensors::Free); keep it to go through it again");
        const std::vector<Tensor> input_grads = node->backward(grad, needs);
        // Its saved tensors go now, not when the graph's last handle does.
        if (saved == SavedTensors::Free) node->backward = nullptr;
        GANOPS_CHECK(input_grads.size() == node->inputs.size(), "backward of ", node->name,
                     ": returned ", input_grads.size(), " gradients for ", node->inputs.size(),
                     " inputs");
        for (size_t i = 0; i < needs.size(); ++i) {
            if (!needs[i] || !input_grads[i].defined()) continue;
            const Edge& input = node->inputs[i];
            GANOPS_CHECK(input_grads[i].shape() == input.shape, "backward of ", node->name,
                         ": gradient ", input_grads[i].shape(), " for input ", i, " of shape ",
                         input.shape);
            if (Node* producer = input.producer.get())
                pending[producer] = accumulate(pending[producer], input_grads[i]);
            else
                deliver(input.leaf, input_grads[i]);
        }
    }
    announce_until(order.size());
}

// A leaf's .grad must not alias a tensor the user or another node holds. The first gradient
// is kept as it is when nothing else holds it (a convolution's weight gradient, fresh from
// its kernel: the common case), copied otherwise (a backward function may hand one tensor to
// several inputs, or pass its own grad_output on). Later gradients are added out of place,
// so a .grad the user kept does not change under them. Either way the values are the same.
void add_to_grad(const Tensor& leaf, const Tensor& g) {
    if (leaf.grad().defined())
        leaf.set_grad(kernels::add(leaf.grad(), g));
    else
        leaf.set_grad(g.is_sole_owner() ? g : g.clone());
}

}  // namespace

void backward(const Tensor& root, const Tensor& grad_output, SavedTensors saved) {
    const Tensor seed = seed_gradient(root, grad_output, "backward");
    run_backward(root, seed, Targets{}, saved, add_to_grad, /*announce=*/true);
}

void backward(const Tensor& root, const Tensor& grad_output, const std::vector<Tensor>& inputs, SavedTensors saved) {
    const Tensor seed = seed_gradient(root, grad_output, "backward");
    Targets targets{false, {}};
    for (size_t i = 0; i < inputs.size(); ++i) {
        GANOPS_CHECK(inputs[i].defined() && inputs[i].is_leaf() && inputs[i].requires_grad(), "backward: inputs[", i,
                     "] (", inputs[i].defined() ? inputs[i].str() : std::string("undefined"),
                     ") is not a leaf tensor that requires grad");
        targets.tensors.push_back(inputs[i]);
    }
    run_backward(root, seed, targets, saved, add_to_grad, /*announce=*/true);
}

std::vector<Tensor> grad(const Tensor& root, const std::vector<Tensor>& inputs, const Tensor& grad_output) {
    const Tensor seed = seed_gradient(root, grad_output, "grad");
    Targets targets{false, {}};
    for (size_t i = 0; i < inputs.size(); ++i) {
        GANOPS_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "grad: inputs[", i, "] (",
                     inputs[i].defined() ? inputs[i].str() : std::string("undefined"), ") does not require grad");
        targets.tensors.push_back(inputs[i]);
    }
    std::vector<Tensor> out(inputs.size());
    run_backward(root, seed, targets, SavedTensors::Keep, [&](const Tensor& t, const Tensor& g) {
        for (size_t i = 0; i < inputs.size(); ++i)
            if (inputs[i].is_same(t)) out[i] = out[i].defined() ? kernels::add(out[i], g) : g;
    });
    return out;
}

}  // namespace ganops
