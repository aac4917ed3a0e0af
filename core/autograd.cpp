#include "autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "../kernels/elementwise.h"

namespace ganops {

namespace {
thread_local bool grad_mode = true;

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
            const Tensor& input = node->inputs[next_input++];
            if (!input.defined()) continue;
            Node* child = input.grad_fn().get();
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

Tensor record(const char* name, Tensor output, std::vector<Tensor> inputs, BackwardFn backward_fn) {
    if (!grad_mode) return output;
    bool any = false;
    for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
    if (!any) return output;
    auto node = std::make_shared<Node>();
    node->name = name;
    node->inputs = std::move(inputs);
    node->backward = std::move(backward_fn);
    output.set_grad_fn(std::move(node));
    return output;
}

void backward(const Tensor& root, const Tensor& grad_output) {
    GANOPS_CHECK(root.defined(), "backward: called on an undefined tensor");
    GANOPS_CHECK(root.requires_grad(), "backward: tensor ", root.str(),
                 " does not require grad (no input of the ops that made it requires grad)");
    Tensor seed = grad_output;
    if (!seed.defined()) {
        GANOPS_CHECK(root.numel() == 1, "backward: tensor ", root.str(),
                     " has more than one element; pass grad_output explicitly");
        seed = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
    }
    GANOPS_CHECK(seed.shape() == root.shape() && seed.dtype() == root.dtype() &&
                     seed.device() == root.device(),
                 "backward: grad_output ", seed.str(), " does not match tensor ", root.str());

    NoGradGuard no_grad;  // gradients are values, not new graphs
    if (root.is_leaf()) {
        root.set_grad(accumulate(root.grad(), seed.clone()));
        return;
    }
    std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), seed}};
    for (Node* node : reverse_topological_order(root.grad_fn().get())) {
        auto it = pending.find(node);
        if (it == pending.end()) continue;
        const Tensor grad = it->second;
        pending.erase(it);

        std::vector<bool> needs(node->inputs.size());
        for (size_t i = 0; i < needs.size(); ++i)
            needs[i] = node->inputs[i].defined() && node->inputs[i].requires_grad();
        const std::vector<Tensor> input_grads = node->backward(grad, needs);
        GANOPS_CHECK(input_grads.size() == node->inputs.size(), "backward of ", node->name,
                     ": returned ", input_grads.size(), " gradients for ", node->inputs.size(),
                     " inputs");
        for (size_t i = 0; i < needs.size(); ++i) {
            if (!needs[i] || !input_grads[i].defined()) continue;
            const Tensor& input = node->inputs[i];
            GANOPS_CHECK(input_grads[i].shape() == input.shape(), "backward of ", node->name,
                         ": gradient ", input_grads[i].shape(), " for input ", i, " of shape ",
                         input.shape());
            if (Node* producer = input.grad_fn().get())
                pending[producer] = accumulate(pending[producer], input_grads[i]);
            else  // a leaf's .grad must not alias a tensor the user or another node holds
                input.set_grad(input.grad().defined() ? kernels::add(input.grad(), input_grads[i])
                                                      : input_grads[i].clone());
        }
    }
}

}  // namespace ganops
