// The scalar epilogue, included by every kernel translation unit: the portable kernel's
// apply_epilogue, the oracle the SIMD kernels are tested against. Its transcendental activations
// are vector_math.h's functions run on one lane, so every path computes them the same way.
// Everything here has internal linkage: an inline function with external linkage compiled with
// AVX-512 flags could be picked by the linker for the portable path too.
//
// Each translation unit's copy lives in the namespace FASTMLP_ISA_NAMESPACE names: the per-ISA
// kernel files define it as their ISA (avx2, avx512) before including this, so every function
// compiled with ISA flags is named fastmlp::<isa>::..., which is how tests/test_build.py tells
// kernel code from the rest in the built module. Other files get fastmlp::baseline.
#pragma once
#include "../gemm/ukernel.h"
#include "vector_math.h"  // also names FASTMLP_ISA_NAMESPACE baseline where no kernel file did

namespace fastmlp::FASTMLP_ISA_NAMESPACE {
namespace {

// 1/(1+e^-x) without overflow, for the logistic output map: the hidden layers' logistic
// (vector_math.h), one lane at a time
template <class T>
inline T logistic_of(T x) {
    return vector_math::logistic<ScalarLane<T>>(x);
}

// SELU's constants, PyTorch's (Klambauer et al. 2017)
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;

// The forward epilogue kinds whose derivative needs the pre-activation (gelu, silu, mish)
constexpr bool epilogue_stores_pre(EpilogueKind k) {
    return k == EpilogueKind::bias_gelu || k == EpilogueKind::bias_silu || k == EpilogueKind::bias_mish;
}
constexpr bool is_grad_epilogue(EpilogueKind k) {
    return (k >= EpilogueKind::relu_grad && k <= EpilogueKind::tanh_grad) ||
           (k >= EpilogueKind::leaky_relu_grad && k <= EpilogueKind::hard_tanh_grad);
}

// g(v) of a forward kind; v already has its bias. s is leaky_relu's negative slope.
template <class T>
inline T activate(EpilogueKind kind, T v, T s) {
    if (is_transcendental_epilogue(kind)) return transcendental_epilogue<ScalarLane<T>>(kind, v, T(0));
    switch (kind) {
        case EpilogueKind::bias_relu: return v < T(0) ? T(0) : v;
        case EpilogueKind::bias_leaky_relu: return v > T(0) ? v : s * v;
        case EpilogueKind::bias_softsign: return v / (T(1) + (v < T(0) ? -v : v));
        case EpilogueKind::bias_hard_tanh: return v < T(-1) ? T(-1) : v > T(1) ? T(1) : v;
        default: return v;
    }
}

// c · g'(.) of a *_grad kind: z is the stored output, or for gelu/silu/mish the pre-activation
template <class T>
inline T apply_grad(EpilogueKind kind, T c, T z, T s) {
    if (is_transcendental_epilogue(kind)) return transcendental_epilogue<ScalarLane<T>>(kind, c, z);
    switch (kind) {
        case EpilogueKind::relu_grad: return z == T(0) ? T(0) : c;
        case EpilogueKind::logistic_grad: return c * z * (T(1) - z);
        case EpilogueKind::tanh_grad: return c * (T(1) - z * z);
        case EpilogueKind::leaky_relu_grad: return z > T(0) ? c : c * s;
        case EpilogueKind::elu_grad: return z > T(0) ? c : c * (z + T(1));
        case EpilogueKind::selu_grad:
            return z > T(0) ? c * T(kSeluScale) : c * (z + T(kSeluScale * kSeluAlpha));
        case EpilogueKind::softsign_grad: {
            const T r = T(1) - (z < T(0) ? -z : z);
            return c * (r * r);
        }
        case EpilogueKind::hard_tanh_grad: return z <= T(-1) || z >= T(1) ? T(0) : c;
        default: return c;
    }
}

template <class T>
inline T apply_epilogue(EpilogueKind kind, T c, T bias, T z, T s = T(0)) {
    switch (kind) {
        case EpilogueKind::none: return c;
        case EpilogueKind::bias: return c + bias;
        case EpilogueKind::bias_relu: { const T v = c + bias; return v < T(0) ? T(0) : v; }
        case EpilogueKind::relu_grad: return z == T(0) ? T(0) : c;
        case EpilogueKind::logistic_grad: return c * z * (T(1) - z);
        case EpilogueKind::tanh_grad: return c * (T(1) - z * z);
        default:
            return is_grad_epilogue(kind) ? apply_grad(kind, c, z, s) : activate(kind, c + bias, s);
    }
}

constexpr bool epilogue_uses_bias(EpilogueKind k) {
    return (k >= EpilogueKind::bias && k <= EpilogueKind::bias_tanh) ||
           (k >= EpilogueKind::bias_leaky_relu && k <= EpilogueKind::bias_hard_tanh);
}
constexpr bool epilogue_uses_z(EpilogueKind k) { return is_grad_epilogue(k); }

// ep's row pointers (z, pre) moved `rows` rows down, to a micro-kernel's next tile of a panel
// (bias is per column and stays)
template <class T>
inline void advance_rows(Epilogue<T>& ep, index_t rows) {
    if (ep.z) ep.z += rows * ep.ldz;
    if (ep.pre) ep.pre += rows * ep.ldpre;
}

}  // namespace
}  // namespace fastmlp::FASTMLP_ISA_NAMESPACE

// Code in namespace fastmlp (or using it) calls these unqualified, as before.
namespace fastmlp {
using namespace FASTMLP_ISA_NAMESPACE;
}  // namespace fastmlp
