// The SIMD micro-kernel of ukernel.h's contract, written once over a vector-traits type V:
//   V::scalar, V::reg, V::mask, V::lanes, and zero/set1/loadu/loadz/store/fma/add/sub/mul/max/
//   keep_nonzero/tail, and for the register epilogues min/div/abs/select_positive/
//   keep_inside_unit. Each ISA's translation unit defines its traits and includes this file,
//   so the same source is compiled once per ISA with that file's flags. Everything here has
//   internal linkage: no copy built with one ISA's flags can be linked into another's path.
#pragma once
#ifndef FASTMLP_ISA_NAMESPACE
#error "a per-ISA kernel file defines FASTMLP_ISA_NAMESPACE (its ISA's name) before including this"
#endif
#include "epilogue_scalar.h"

namespace fastmlp::FASTMLP_ISA_NAMESPACE {
namespace {

// The epilogues of issue 6 cheap enough to finish in registers, before the store (activate_tile
// leaves them alone): the same IEEE operations as apply_epilogue's, so the same bits.
constexpr bool epilogue_in_registers(EpilogueKind k) {
    return k == EpilogueKind::bias_leaky_relu || k == EpilogueKind::bias_softsign ||
           k == EpilogueKind::bias_hard_tanh || k == EpilogueKind::leaky_relu_grad ||
           k == EpilogueKind::elu_grad || k == EpilogueKind::selu_grad ||
           k == EpilogueKind::softsign_grad || k == EpilogueKind::hard_tanh_grad;
}

// v: the biased sum (forward kinds) or the product (grad kinds, z its stored output)
template <class V>
inline typename V::reg register_epilogue(EpilogueKind kind, typename V::reg v, typename V::reg z,
                                         typename V::reg slope) {
    using T = typename V::scalar;
    const typename V::reg one = V::set1(T(1));
    switch (kind) {
        case EpilogueKind::bias_leaky_relu: return V::max(V::mul(slope, v), v);  // s < 1; NaN stays
        case EpilogueKind::bias_softsign: return V::div(v, V::add(one, V::abs(v)));
        case EpilogueKind::bias_hard_tanh: return V::min(one, V::max(V::set1(T(-1)), v));  // NaN stays
        case EpilogueKind::leaky_relu_grad: return V::select_positive(z, v, V::mul(v, slope));
        case EpilogueKind::elu_grad: return V::select_positive(z, v, V::mul(v, V::add(z, one)));
        case EpilogueKind::selu_grad:
            return V::select_positive(z, V::mul(v, V::set1(T(kSeluScale))),
                                      V::mul(v, V::add(z, V::set1(T(kSeluScale * kSeluAlpha)))));
        case EpilogueKind::softsign_grad: {
            const typename V::reg r = V::sub(one, V::abs(z));
            return V::mul(v, V::mul(r, r));
        }
        case EpilogueKind::hard_tanh_grad: return V::keep_inside_unit(z, v);
        default: return v;
    }
}

// One tile of M ≤ MR rows and NV vectors (NR = 2 vectors) of features.
template <class V, int M, int NV, bool FullWidth>
void gemm_tile(index_t kc, const typename V::scalar* a, index_t rs_a, index_t cs_a,
               const typename V::scalar* b, index_t ldb, typename V::scalar* c, index_t ldc,
               index_t n, bool accumulate, const Epilogue<typename V::scalar>& ep) {
    // a is (M, kc) at strides (rs_a, cs_a), b is (kc, n ≤ 2·lanes) of row stride ldb, c is (M, n).
    // FullWidth tiles load b whole; edge tiles load it masked, so b's row may end at column n.
    // NV is the number of vectors of accumulators per row: 1 when n fits in one vector, so a
    // narrow tail tile does half the FMAs of a full one.
    using T = typename V::scalar;
    constexpr int L = V::lanes;
    typename V::reg c0[M], c1[M];
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) c0[i] = c1[i] = V::zero();
    const typename V::mask m0 = V::tail(n), m1 = V::tail(n > L ? n - L : 0);
    for (index_t k = 0; k < kc; ++k) {
        const T* bk = b + k * ldb;
        const typename V::reg b0 = FullWidth ? V::loadu(bk) : V::loadz(m0, bk);
        const typename V::reg b1 = NV == 1 ? V::zero() : FullWidth ? V::loadu(bk + L) : V::loadz(m1, bk + L);
        const T* ak = a + k * cs_a;
#pragma GCC unroll 16
        for (int i = 0; i < M; ++i) {
            const typename V::reg ai = V::set1(ak[i * rs_a]);
            c0[i] = V::fma(ai, b0, c0[i]);
            if constexpr (NV == 2) c1[i] = V::fma(ai, b1, c1[i]);
        }
    }
    const EpilogueKind kind = ep.kind;
    typename V::reg bias0 = V::zero(), bias1 = V::zero();
    if (epilogue_uses_bias(kind)) {
        bias0 = V::loadz(m0, ep.bias);
        if constexpr (NV == 2) bias1 = V::loadz(m1, ep.bias + L);
    }
    const typename V::reg one = V::set1(T(1));
    const typename V::reg slope = V::set1(ep.param);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
        T* ci = c + i * ldc;
        typename V::reg v0 = c0[i], v1 = c1[i];
        if (accumulate) {
            v0 = V::add(V::loadz(m0, ci), v0);
            if constexpr (NV == 2) v1 = V::add(V::loadz(m1, ci + L), v1);
        }
        if (epilogue_uses_bias(kind)) {
            v0 = V::add(v0, bias0);
            v1 = V::add(v1, bias1);
            if (kind == EpilogueKind::bias_relu) {  // max(0, v) returns v when v is NaN
                v0 = V::max(V::zero(), v0);
                v1 = V::max(V::zero(), v1);
            } else if (epilogue_in_registers(kind)) {
                v0 = register_epilogue<V>(kind, v0, V::zero(), slope);
                v1 = register_epilogue<V>(kind, v1, V::zero(), slope);
            }
        } else if (epilogue_uses_z(kind)) {
            const T* zi = ep.z + i * ep.ldz;
            const typename V::reg z0 = V::loadz(m0, zi);
            const typename V::reg z1 = NV == 2 ? V::loadz(m1, zi + L) : V::zero();
            if (kind == EpilogueKind::relu_grad) {
                v0 = V::keep_nonzero(z0, v0);
                v1 = V::keep_nonzero(z1, v1);
            } else if (kind == EpilogueKind::logistic_grad) {
                v0 = V::mul(V::mul(v0, z0), V::sub(one, z0));
                v1 = V::mul(V::mul(v1, z1), V::sub(one, z1));
            } else if (kind == EpilogueKind::tanh_grad) {
                v0 = V::mul(v0, V::sub(one, V::mul(z0, z0)));
                v1 = V::mul(v1, V::sub(one, V::mul(z1, z1)));
            } else if (epilogue_in_registers(kind)) {
                v0 = register_epilogue<V>(kind, v0, z0, slope);
                v1 = register_epilogue<V>(kind, v1, z1, slope);
            }  // the other grad kinds: activate_tile, below
        }
        V::store(ci, m0, v0);
        if constexpr (NV == 2) V::store(ci + L, m1, v1);
    }
    activate_tile(ep, c, ldc, M, n);
}

// The micro-kernel: picks the tile for m rows (MR ≥ m ≥ 1) and the width of n.
template <class V, int M>
void gemm_ukr_rows(index_t kc, const typename V::scalar* a, index_t rs_a, index_t cs_a,
                   const typename V::scalar* b, index_t ldb, typename V::scalar* c, index_t ldc,
                   index_t m, index_t n, bool accumulate, const Epilogue<typename V::scalar>& ep) {
    constexpr int NR = 2 * V::lanes;
    if constexpr (M > 0) {
        if (m == M) {
            if (n == NR) return gemm_tile<V, M, 2, true>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n, accumulate, ep);
            if (n > NR / 2) return gemm_tile<V, M, 2, false>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n, accumulate, ep);
            return gemm_tile<V, M, 1, false>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n, accumulate, ep);
        }
        return gemm_ukr_rows<V, M - 1>(kc, a, rs_a, cs_a, b, ldb, c, ldc, m, n, accumulate, ep);
    }
}

}  // namespace
}  // namespace fastmlp::FASTMLP_ISA_NAMESPACE
