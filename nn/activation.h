// Activation layers, for use inside Sequential.
#pragma once
#include "functional.h"
#include "module.h"

namespace ganops::nn {

class ReLU : public Module {
public:
    Tensor forward(const Tensor& x) override { return relu(x); }
};

class LeakyReLU : public Module {
public:
    explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
    Tensor forward(const Tensor& x) override { return leaky_relu(x, negative_slope); }
    double negative_slope;
};

class Tanh : public Module {
public:
    Tensor forward(const Tensor& x) override { return ganops::tanh(x); }
};

class Sigmoid : public Module {
public:
    Tensor forward(const Tensor& x) override { return sigmoid(x); }
};

}  // namespace ganops::nn
