// The base of every layer and model: owns parameters (trained) and buffers (state such as
// running statistics), names them as PyTorch does ("main.0.weight"), and switches
// train/eval mode for the whole tree. Modules live behind shared_ptr and are not copied,
// since the registry points at their members.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/tensor.h"

namespace ganops::nn {

class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    virtual Tensor forward(const Tensor& x) = 0;
    Tensor operator()(const Tensor& x) { return forward(x); }

    std::vector<std::pair<std::string, Tensor>> named_parameters() const;
    std::vector<Tensor> parameters() const;
    std::vector<std::pair<std::string, Tensor>> named_buffers() const;
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
    std::vector<Module*> modules();  // this one, then every descendant, depth first

    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void zero_grad();  // clears every parameter's gradient
    // Moves parameters and buffers. Parameters become new leaves: build optimizers after.
    void to(Device device);
    // Stores every 4-d parameter and buffer (convolution weights) in `format`, in place
    // (Tensor::change_memory_format_in_place): the tensors stay the same leaves, so an optimizer
    // built before keeps updating them (Adam::follow_parameter_formats moves its moments
    // along). Channels-last weights are what the NHWC convolutions read and write (KRSC),
    // so a channels-last network converts no weight per pass. Checkpoints are unaffected:
    // they store PyTorch's layout and load into whatever format the parameter has.
    void to(MemoryFormat format);

protected:
    // `slot` is a member of the derived module; an undefined tensor there (bias=false) is
    // skipped in listings.
    void register_parameter(std::string name, Tensor* slot);
    void register_buffer(std::string name, Tensor* slot);
    template <class M>
    std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
        children_.emplace_back(std::move(name), module);
        return module;
    }

private:
    void collect(const std::string& prefix, bool parameters, std::vector<std::pair<std::string, Tensor>>& out) const;

    std::vector<std::pair<std::string, Tensor*>> parameters_, buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
};

}  // namespace ganops::nn
