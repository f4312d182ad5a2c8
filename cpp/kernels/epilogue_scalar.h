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

template <class T>
inline T apply_epilogue(EpilogueKind kind, T c, T bias, T z) {
    switch (kind) {
        case EpilogueKind::none: return c;
        case EpilogueKind::bias: return c + bias;
        case EpilogueKind::bias_relu: { const T v = c + bias; return v < T(0) ? T(0) : v; }
        case EpilogueKind::bias_logistic: return logistic_of(c + bias);
        case EpilogueKind::bias_tanh: return tanh_of(c + bias);
        case EpilogueKind::relu_grad: return z == T(0) ? T(0) : c;
        case EpilogueKind::logistic_grad: return c * z * (T(1) - z);
        case EpilogueKind::tanh_grad: return c * (T(1) - z * z);
    }
    return c;
}

inline bool epilogue_uses_bias(EpilogueKind k) {
    return k == EpilogueKind::bias || k == EpilogueKind::bias_relu ||
           k == EpilogueKind::bias_logistic || k == EpilogueKind::bias_tanh;
}
inline bool epilogue_uses_z(EpilogueKind k) {
    return k == EpilogueKind::relu_grad || k == EpilogueKind::logistic_grad ||
           k == EpilogueKind::tanh_grad;
}

// Finish a stored m × n tile element by element (the SIMD kernels use it for the transcendental
// epilogues, while the tile is still in L1).
template <class T>
inline void epilogue_on_tile(T* c, index_t ldc, index_t m, index_t n, const Epilogue<T>& ep) {
    for (index_t i = 0; i < m; ++i)
        for (index_t j = 0; j < n; ++j) {
            const T bias = epilogue_uses_bias(ep.kind) ? ep.bias[j] : T(0);
            const T z = epilogue_uses_z(ep.kind) ? ep.z[i * ep.ldz + j] : T(0);
            c[i * ldc + j] = apply_epilogue(ep.kind, c[i * ldc + j], bias, z);
        }
}

// The transcendental half of bias_logistic / bias_tanh, on a stored tile that already has its bias.
template <class T>
inline void activate_tile(EpilogueKind kind, T* c, index_t ldc, index_t m, index_t n) {
    if (kind != EpilogueKind::bias_logistic && kind != EpilogueKind::bias_tanh) return;
    for (index_t i = 0; i < m; ++i)
        for (index_t j = 0; j < n; ++j) {
            T& v = c[i * ldc + j];
            v = kind == EpilogueKind::bias_logistic ? logistic_of(v) : tanh_of(v);
        }
}

}  // namespace
}  // namespace fastmlp::FASTMLP_ISA_NAMESPACE

// Code in namespace fastmlp (or using it) calls these unqualified, as before.
namespace fastmlp {
using namespace FASTMLP_ISA_NAMESPACE;
}  // namespace fastmlp
