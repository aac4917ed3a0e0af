#include "module.h"

namespace ganops::nn {

void Module::register_parameter(std::string name, Tensor* slot) {
    if (slot->defined()) slot->set_requires_grad(true);
    parameters_.emplace_back(std::move(name), slot);
}

void Module::register_buffer(std::string name, Tensor* slot) { buffers_.emplace_back(std::move(name), slot); }

void Module::collect(const std::string& prefix, bool parameters,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
    for (const auto& [name, slot] : parameters ? parameters_ : buffers_)
        if (slot->defined()) out.emplace_back(prefix + name, *slot);
    for (const auto& [name, child] : children_) child->collect(prefix + name + ".", parameters, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
    std::vector<std::pair<std::string, Tensor>> out;
    collect("", true, out);
    return out;
}

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> out;
    for (auto& [name, t] : named_parameters()) out.push_back(t);
    return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
    std::vector<std::pair<std::string, Tensor>> out;
    collect("", false, out);
    return out;
}

std::vector<Module*> Module::modules() {
    std::vector<Module*> out{this};
    for (auto& [name, child] : children_)
        for (Module* m : child->modules()) out.push_back(m);
    return out;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
    for (Tensor& p : parameters()) p.set_grad(Tensor());
}

void Module::to(Device device) {
    for (auto& [name, slot] : parameters_)
        if (slot->defined() && slot->device() != device) {
            *slot = slot->detach().to(device);
            slot->set_requires_grad(true);
        }
    for (auto& [name, slot] : buffers_)
        if (slot->defined()) *slot = slot->to(device);
    for (auto& [name, child] : children_) child->to(device);
}

void Module::to(MemoryFormat format) {
    for (auto* slots : {&parameters_, &buffers_})
        for (auto& [name, slot] : *slots)
            if (slot->defined() && slot->ndim() == 4) slot->change_memory_format_in_place(format);
    for (auto& [name, child] : children_) child->to(format);
}

}  // namespace ganops::nn
