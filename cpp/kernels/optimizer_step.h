// The optimizer's step kernel of ukernel.h's contract (StepKernel), written once as plain loops
// that each ISA's translation unit compiles with its own flags: the step is a stream over four
// arrays with a square root and a division per element, so its speed is the vector width's.
// Every operation is an IEEE add, multiply, divide or square root in the source's order (no
// contraction), so every path takes the same step to the bit.
#pragma once
#ifndef FASTMLP_ISA_NAMESPACE
#error "a per-ISA kernel file defines FASTMLP_ISA_NAMESPACE (its ISA's name) before including this"
#endif
#include <cmath>

#include "../gemm/ukernel.h"
#include "finished_gradient.h"

namespace fastmlp::FASTMLP_ISA_NAMESPACE {
namespace {

template <bool Weight, bool Decay, bool Nesterov, class T>
void sgd_loop(T* params, T* vel, const T* grad, index_t n, const OptimizerStep<T>& s) {
    for (index_t i = 0; i < n; ++i) {
        const T g = finished_gradient<Weight>(grad[i], params[i], s.alpha, s.weight_sum);
        const T v = s.momentum * vel[i] - s.lr * g;
        vel[i] = v;
        const T update = Nesterov ? s.momentum * v - s.lr * g : v;
        if constexpr (Decay)
            params[i] = params[i] * s.keep + update;
        else
            params[i] += update;
    }
}

template <bool Weight, bool Decay, class T>
void adam_loop(T* params, T* m, T* v, const T* grad, index_t n, const OptimizerStep<T>& s) {
    for (index_t i = 0; i < n; ++i) {
        const T g = finished_gradient<Weight>(grad[i], params[i], s.alpha, s.weight_sum);
        m[i] = s.beta_1 * m[i] + s.one_minus_beta_1 * g;
        v[i] = s.beta_2 * v[i] + s.one_minus_beta_2 * (g * g);
        if constexpr (Decay)
            params[i] = params[i] * s.keep + (-s.lr * m[i]) / (std::sqrt(v[i]) + s.epsilon);
        else
            params[i] += (-s.lr * m[i]) / (std::sqrt(v[i]) + s.epsilon);
    }
}

template <bool Weight, bool Decay, class T>
void step_as(T* params, T* state_1, T* state_2, const T* grad, index_t n, const OptimizerStep<T>& s) {
    if (s.adam) return adam_loop<Weight, Decay>(params, state_1, state_2, grad, n, s);
    if (s.nesterov) return sgd_loop<Weight, Decay, true>(params, state_1, grad, n, s);
    sgd_loop<Weight, Decay, false>(params, state_1, grad, n, s);
}

template <class T>
void optimizer_step(T* params, T* state_1, T* state_2, const T* grad, index_t n,
                    const OptimizerStep<T>& s) {
    // params, state_1 (velocity or m), state_2 (v; unused by sgd) and grad are (n)
    if (s.weights && s.decay) return step_as<true, true>(params, state_1, state_2, grad, n, s);
    if (s.weights) return step_as<true, false>(params, state_1, state_2, grad, n, s);
    step_as<false, false>(params, state_1, state_2, grad, n, s);
}

}  // namespace
}  // namespace fastmlp::FASTMLP_ISA_NAMESPACE
