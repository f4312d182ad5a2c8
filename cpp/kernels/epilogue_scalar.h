// The scalar epilogue, included by every kernel translation unit. Everything here has internal
// linkage and calls only C math functions: an inline function with external linkage compiled
// with AVX-512 flags could be picked by the linker for the portable path too.
//
// Each translation unit's copy lives in the namespace FASTMLP_ISA_NAMESPACE names: the per-ISA
// kernel files define it as their ISA (avx2, avx512) before including this, so every function
// compiled with ISA flags is named fastmlp::<isa>::..., which is how tests/test_build.py tells
// kernel code from the rest in the built module. Other files get fastmlp::baseline.
#pragma once
#include <math.h>

#include "../gemm/ukernel.h"

#ifndef FASTMLP_ISA_NAMESPACE
#define FASTMLP_ISA_NAMESPACE baseline
#endif

namespace fastmlp::FASTMLP_ISA_NAMESPACE {
namespace {

inline float exp_of(float x) { return expf(x); }
inline double exp_of(double x) { return exp(x); }
inline float tanh_of(float x) { return tanhf(x); }
inline double tanh_of(double x) { return tanh(x); }

// 1/(1+e^-x) written so that no finite x overflows
template <class T>
inline T logistic_of(T x) {
    if (x >= T(0)) return T(1) / (T(1) + exp_of(-x));
    const T e = exp_of(x);
    return e / (T(1) + e);
}

inline float expm1_of(float x) { return expm1f(x); }
inline double expm1_of(double x) { return expm1(x); }
inline float log1p_of(float x) { return log1pf(x); }
inline double log1p_of(double x) { return log1p(x); }
inline float erf_of(float x) { return erff(x); }
inline double erf_of(double x) { return erf(x); }

// SELU's constants, PyTorch's (Klambauer et al. 2017)
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;

// softplus(x) = log(1 + eˣ) written so that no finite x overflows
template <class T>
inline T softplus_of(T x) {
    return (x > T(0) ? x : T(0)) + log1p_of(exp_of(-(x < T(0) ? -x : x)));
}

// Φ(x), the standard normal CDF, and φ(x), its density
template <class T>
inline T normal_cdf_of(T x) { return T(0.5) * (T(1) + erf_of(x * T(0.70710678118654752440084436210485))); }
template <class T>
inline T normal_pdf_of(T x) { return T(0.39894228040143267793994605993438) * exp_of(T(-0.5) * x * x); }

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
    switch (kind) {
        case EpilogueKind::bias_relu: return v < T(0) ? T(0) : v;
        case EpilogueKind::bias_logistic: return logistic_of(v);
        case EpilogueKind::bias_tanh: return tanh_of(v);
        case EpilogueKind::bias_leaky_relu: return v > T(0) ? v : s * v;
        case EpilogueKind::bias_elu: return v > T(0) ? v : expm1_of(v);
        case EpilogueKind::bias_selu:
            return T(kSeluScale) * (v > T(0) ? v : T(kSeluAlpha) * expm1_of(v));
        case EpilogueKind::bias_gelu: return v * normal_cdf_of(v);
        case EpilogueKind::bias_silu: return v * logistic_of(v);
        case EpilogueKind::bias_softplus: return softplus_of(v);
        case EpilogueKind::bias_softsign: return v / (T(1) + (v < T(0) ? -v : v));
        case EpilogueKind::bias_mish: return v * tanh_of(softplus_of(v));
        case EpilogueKind::bias_hard_tanh: return v < T(-1) ? T(-1) : v > T(1) ? T(1) : v;
        default: return v;
    }
}

// c · g'(.) of a *_grad kind: z is the stored output, or for gelu/silu/mish the pre-activation
template <class T>
inline T apply_grad(EpilogueKind kind, T c, T z, T s) {
    switch (kind) {
        case EpilogueKind::relu_grad: return z == T(0) ? T(0) : c;
        case EpilogueKind::logistic_grad: return c * z * (T(1) - z);
        case EpilogueKind::tanh_grad: return c * (T(1) - z * z);
        case EpilogueKind::leaky_relu_grad: return z > T(0) ? c : c * s;
        case EpilogueKind::elu_grad: return z > T(0) ? c : c * (z + T(1));
        case EpilogueKind::selu_grad:
            return z > T(0) ? c * T(kSeluScale) : c * (z + T(kSeluScale * kSeluAlpha));
        case EpilogueKind::gelu_grad: return c * (normal_cdf_of(z) + z * normal_pdf_of(z));
        case EpilogueKind::silu_grad: {
            const T sg = logistic_of(z);
            return c * (sg * (T(1) + z * (T(1) - sg)));
        }
        case EpilogueKind::softplus_grad: return c * -expm1_of(-z);
        case EpilogueKind::softsign_grad: {
            const T r = T(1) - (z < T(0) ? -z : z);
            return c * (r * r);
        }
        case EpilogueKind::mish_grad: {
            const T t = tanh_of(softplus_of(z));
            return c * (t + z * (T(1) - t * t) * logistic_of(z));
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
        case EpilogueKind::bias_logistic: return logistic_of(c + bias);
        case EpilogueKind::bias_tanh: return tanh_of(c + bias);
        case EpilogueKind::relu_grad: return z == T(0) ? T(0) : c;
        case EpilogueKind::logistic_grad: return c * z * (T(1) - z);
        case EpilogueKind::tanh_grad: return c * (T(1) - z * z);
        default:
            return is_grad_epilogue(kind) ? apply_grad(kind, c, z, s) : activate(kind, c + bias, s);
    }
}

inline bool epilogue_uses_bias(EpilogueKind k) {
    return (k >= EpilogueKind::bias && k <= EpilogueKind::bias_tanh) ||
           (k >= EpilogueKind::bias_leaky_relu && k <= EpilogueKind::bias_hard_tanh);
}
inline bool epilogue_uses_z(EpilogueKind k) { return is_grad_epilogue(k); }

// Finish a stored m × n tile element by element (the SIMD kernels use it for the transcendental
// epilogues, while the tile is still in L1).
template <class T>
inline void epilogue_on_tile(T* c, index_t ldc, index_t m, index_t n, const Epilogue<T>& ep) {
    for (index_t i = 0; i < m; ++i)
        for (index_t j = 0; j < n; ++j) {
            const T bias = epilogue_uses_bias(ep.kind) ? ep.bias[j] : T(0);
            const T z = epilogue_uses_z(ep.kind) ? ep.z[i * ep.ldz + j] : T(0);
            if (epilogue_stores_pre(ep.kind) && ep.pre) ep.pre[i * ep.ldpre + j] = c[i * ldc + j] + bias;
            c[i * ldc + j] = apply_epilogue(ep.kind, c[i * ldc + j], bias, z, ep.param);
        }
}

// One kind's element-wise pass over a stored m × n tile: a forward kind's g on a tile that
// already has its bias (storing the pre-activation first where the kind needs it), or a grad
// kind's factor g'(z). K is a constant, so each loop is a plain one the compiler may vectorise.
template <EpilogueKind K, class T>
inline void finish_tile_as(const Epilogue<T>& ep, T* c, index_t ldc, index_t m, index_t n) {
    const T s = ep.param;
    for (index_t i = 0; i < m; ++i) {
        T* ci = c + i * ldc;
        if constexpr (is_grad_epilogue(K)) {
            const T* zi = ep.z + i * ep.ldz;
            for (index_t j = 0; j < n; ++j) ci[j] = apply_grad(K, ci[j], zi[j], s);
        } else {
            if constexpr (epilogue_stores_pre(K)) {
                if (ep.pre) {
                    T* pi = ep.pre + i * ep.ldpre;
                    for (index_t j = 0; j < n; ++j) pi[j] = ci[j];
                }
            }
            for (index_t j = 0; j < n; ++j) ci[j] = activate(K, ci[j], s);
        }
    }
}

// The element-wise half of the epilogues the SIMD kernels leave to a pass over the stored tile
// (in L1): the transcendental ones. The SIMD kernels finish the others in registers (none, bias,
// bias_relu, the relu/logistic/tanh grads, and gemm_tile_simd.h's epilogue_in_registers kinds).
template <class T>
inline void activate_tile(const Epilogue<T>& ep, T* c, index_t ldc, index_t m, index_t n) {
    switch (ep.kind) {
#define FASTMLP_FINISH(K) \
    case EpilogueKind::K: return finish_tile_as<EpilogueKind::K>(ep, c, ldc, m, n);
        FASTMLP_FINISH(bias_logistic)
        FASTMLP_FINISH(bias_tanh)
        FASTMLP_FINISH(bias_elu)
        FASTMLP_FINISH(bias_selu)
        FASTMLP_FINISH(bias_gelu)
        FASTMLP_FINISH(bias_silu)
        FASTMLP_FINISH(bias_softplus)
        FASTMLP_FINISH(bias_mish)
        FASTMLP_FINISH(gelu_grad)
        FASTMLP_FINISH(silu_grad)
        FASTMLP_FINISH(softplus_grad)
        FASTMLP_FINISH(mish_grad)
#undef FASTMLP_FINISH
        default: return;
    }
}

}  // namespace
}  // namespace fastmlp::FASTMLP_ISA_NAMESPACE

// Code in namespace fastmlp (or using it) calls these unqualified, as before.
namespace fastmlp {
using namespace FASTMLP_ISA_NAMESPACE;
}  // namespace fastmlp
