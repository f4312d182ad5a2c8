// The SIMD micro-kernel of ukernel.h's contract, written once over a vector-traits type V:
//   V::scalar, V::reg, V::mask, V::lanes, and zero/set1/loadu/loadz/store/fma/add/sub/mul/max/
//   keep_nonzero/tail/storeu/sum_lanes, and for the register epilogues min/div/abs/select_positive/
//   keep_inside_unit/select_less/copy_sign/pow2 (vector_math.h's ScalarLane is the one-lane
//   model of each). Each ISA's translation unit defines its traits and includes this file,
//   so the same source is compiled once per ISA with that file's flags. Everything here has
//   internal linkage: no copy built with one ISA's flags can be linked into another's path.
#pragma once
#ifndef FASTMLP_ISA_NAMESPACE
#error "a per-ISA kernel file defines FASTMLP_ISA_NAMESPACE (its ISA's name) before including this"
#endif
#include <algorithm>

#include "epilogue_scalar.h"

namespace fastmlp::FASTMLP_ISA_NAMESPACE {
namespace {

// g(v) of a forward kind (v has its bias) or v·g'(z) of a grad kind, in registers: the same
// IEEE operations as epilogue_scalar.h's apply_epilogue (the transcendental kinds through the
// one definition in vector_math.h), so every path has the portable path's bits.
template <class V>
[[gnu::always_inline]] inline typename V::reg register_epilogue(EpilogueKind kind, typename V::reg v,
                                                                typename V::reg z, typename V::reg slope) {
    using T = typename V::scalar;
    const typename V::reg one = V::set1(T(1));
    if (is_transcendental_epilogue(kind)) return transcendental_epilogue<V>(kind, v, z);
    switch (kind) {
        case EpilogueKind::bias_relu: return V::max(V::zero(), v);  // max(0, NaN) is NaN
        case EpilogueKind::bias_leaky_relu: return V::max(V::mul(slope, v), v);  // s < 1; NaN stays
        case EpilogueKind::bias_softsign: return V::div(v, V::add(one, V::abs(v)));
        case EpilogueKind::bias_hard_tanh: return V::min(one, V::max(V::set1(T(-1)), v));  // NaN stays
        case EpilogueKind::relu_grad: return V::keep_nonzero(z, v);
        case EpilogueKind::logistic_grad: return V::mul(V::mul(v, z), V::sub(one, z));
        case EpilogueKind::tanh_grad: return V::mul(v, V::sub(one, V::mul(z, z)));
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

// Two registers of V as one, for the register epilogues: each operation is V's on both halves,
// so vector_math's functions run on a Pair<V> interleave two independent dependency chains in
// one instruction stream. A transcendental activation is one chain of some 30 operations, and
// one vector at a time the out-of-order window held too few of them to keep the FP pipes busy:
// on a Zen 3 core (AVX2, float32, values in L1; medians of 5 alternated runs) pairs took the
// activation pass from 7.8 to 7.2 ns a vector for logistic, 13.0 → 10.9 tanh, 18.3 → 14.7
// softplus, 8.7 → 7.9 mish, 10.8 → 9.4 silu's derivative (others within noise), and fused
// 256×256→256 layers forward and backward 2-9 %. Each lane gets the operations it gets through
// V, so the same bits; a branch on all or any lanes asks both halves.
template <class V>
struct Pair {
    using scalar = typename V::scalar;
    struct reg {
        typename V::reg lo, hi;
    };
    static reg both(typename V::reg x) { return {x, x}; }
    static reg zero() { return both(V::zero()); }
    static reg set1(scalar x) { return both(V::set1(x)); }
#define FASTMLP_PAIR_1(op) \
    static reg op(reg a) { return {V::op(a.lo), V::op(a.hi)}; }
#define FASTMLP_PAIR_2(op) \
    static reg op(reg a, reg b) { return {V::op(a.lo, b.lo), V::op(a.hi, b.hi)}; }
#define FASTMLP_PAIR_3(op) \
    static reg op(reg a, reg b, reg c) { return {V::op(a.lo, b.lo, c.lo), V::op(a.hi, b.hi, c.hi)}; }
    FASTMLP_PAIR_1(abs) FASTMLP_PAIR_1(pow2)
    FASTMLP_PAIR_2(add) FASTMLP_PAIR_2(sub) FASTMLP_PAIR_2(mul) FASTMLP_PAIR_2(div)
    FASTMLP_PAIR_2(min) FASTMLP_PAIR_2(max) FASTMLP_PAIR_2(keep_nonzero)
    FASTMLP_PAIR_2(keep_inside_unit) FASTMLP_PAIR_2(copy_sign)
    FASTMLP_PAIR_3(select_positive)
#undef FASTMLP_PAIR_1
#undef FASTMLP_PAIR_2
#undef FASTMLP_PAIR_3
    static reg select_less(reg x, reg y, reg a, reg b) {
        return {V::select_less(x.lo, y.lo, a.lo, b.lo), V::select_less(x.hi, y.hi, a.hi, b.hi)};
    }
    static bool any_less(reg x, reg y) { return V::any_less(x.lo, y.lo) || V::any_less(x.hi, y.hi); }
    static bool all_less(reg x, reg y) { return V::all_less(x.lo, y.lo) && V::all_less(x.hi, y.hi); }
};

// The kinds whose epilogue runs two vectors at a time: the transcendental ones (gelu's too since
// its Φ has no branch: an erf with a branch on |x| < 1 lost 13 % in pairs)
constexpr bool epilogue_runs_in_pairs(EpilogueKind k) {
    return is_transcendental_epilogue(k);
}

// The kinds that run four vectors at a time (as a Pair of Pairs) where their vectors come in
// fours (the pass, a tile's rows): two chains still left the FP pipes idle while each waited on
// its divisions and its exp's serial polynomial. Four took every paired kind's pass 4-20 %
// faster on a Zen 3 core (float32 and float64, values in L1: logistic 0.85 → 0.76 ns an
// element, softplus 1.75 → 1.42) and cut their fused 256×256→256 float32 layers' extra over
// relu 5-18 % (float64 within noise), but mish's derivative, whose four chains spill registers
// (its pass 1.9 → 2.5 ns an element).
constexpr bool epilogue_runs_in_quads(EpilogueKind k) {
    return epilogue_runs_in_pairs(k) && k != EpilogueKind::mish_grad;
}

// One kind's epilogue over a block of count vectors (z beside them; zeros for forward kinds).
// K is a constant, so the math is inlined once per kind, and its constants stay in registers
// across the block instead of being reloaded around a call per vector; most transcendental
// kinds take the vectors two at a time as a Pair.
template <class V, EpilogueKind K>
void epilogue_block(typename V::reg* v, const typename V::reg* z, int count, typename V::scalar slope) {
    const typename V::reg s = V::set1(slope);
    int i = 0;
    if constexpr (epilogue_runs_in_pairs(K)) {
        using P = Pair<V>;
        for (; i + 2 <= count; i += 2) {
            const typename P::reg r = register_epilogue<P>(K, {v[i], v[i + 1]}, {z[i], z[i + 1]}, P::both(s));
            v[i] = r.lo;
            v[i + 1] = r.hi;
        }
    }
    for (; i < count; ++i) v[i] = register_epilogue<V>(K, v[i], z[i], s);
}

template <class V>
using EpilogueBlock = void (*)(typename V::reg*, const typename V::reg*, int, typename V::scalar);

// Every kind with math to apply (none and bias have none), for the switches that pick a
// kind's instantiation: X(kind) for each.
#define FASTMLP_ACTIVE_EPILOGUE_KINDS(X)                                                      \
    X(bias_relu) X(bias_logistic) X(bias_tanh) X(relu_grad) X(logistic_grad) X(tanh_grad)     \
    X(bias_leaky_relu) X(bias_elu) X(bias_selu) X(bias_gelu) X(bias_silu) X(bias_softplus)    \
    X(bias_softsign) X(bias_mish) X(bias_hard_tanh) X(leaky_relu_grad) X(elu_grad)            \
    X(selu_grad) X(gelu_grad) X(silu_grad) X(softplus_grad) X(softsign_grad) X(mish_grad)     \
    X(hard_tanh_grad)

template <class V>
EpilogueBlock<V> epilogue_block_for(EpilogueKind kind) {
    switch (kind) {
#define FASTMLP_BLOCK(K) \
    case EpilogueKind::K: return epilogue_block<V, EpilogueKind::K>;
        FASTMLP_ACTIVE_EPILOGUE_KINDS(FASTMLP_BLOCK)
#undef FASTMLP_BLOCK
        default: return epilogue_block<V, EpilogueKind::none>;  // none, bias: nothing to apply
    }
}

// The epilogue's inputs for one vector of C's row (lanes m; Whole: every lane is in C, so plain
// loads and stores): v gets the bias of a forward kind, which also stores it to pre when the
// kind keeps its pre-activation; z receives a grad kind's operand (zero otherwise). kind is a
// constant for a caller that knows it at compile time, and the branches fold.
template <class V, bool Whole>
[[gnu::always_inline]] inline typename V::reg epilogue_input(EpilogueKind kind, typename V::reg v,
                                                             typename V::mask m, typename V::reg bias,
                                                             const typename V::scalar* z,
                                                             typename V::scalar* pre,
                                                             typename V::reg& z_out) {
    z_out = V::zero();
    if (epilogue_uses_bias(kind)) {
        v = V::add(v, bias);
        if (epilogue_stores_pre(kind) && pre) {
            if constexpr (Whole) V::storeu(pre, v);
            else V::store(pre, m, v);
        }
    } else if (epilogue_uses_z(kind)) {
        z_out = Whole ? V::loadu(z) : V::loadz(m, z);
    }
    return v;
}

// The activation pass for kind K over x(n): x = g(x) for a forward kind (pre, when set,
// receives x first), x = x·g'(z) for a grad kind. The unfused activation ops run it, so they
// cost the same arithmetic as the fused epilogues. Each vector goes from its load to its store
// in registers, the kind's math inline: through a block of eight vectors in memory and a call
// per block, as before, relu's pass took 2.0 ns a vector in L1 on a Zen 3 core (0.4 now) and
// every other kind's ~1.6 ns more. Kept out of the dispatching switch: inlined into it, the
// kinds shared one inlining budget, and the math of logistic and the like became calls taking
// their vectors through the stack (2.3× the time of logistic's pass).
template <class V, EpilogueKind K>
[[gnu::noinline]] void epilogue_pass_as(typename V::scalar* x, index_t n, const Epilogue<typename V::scalar>& ep) {
    using R = typename V::reg;
    constexpr int L = V::lanes;
    constexpr bool grad = epilogue_uses_z(K);
    typename V::scalar* const pre = epilogue_stores_pre(K) ? ep.pre : nullptr;
    const R slope = V::set1(ep.param);
    const auto load = [&](index_t at, R& z) {  // a whole vector at `at`, and its z
        z = grad ? V::loadu(ep.z + at) : V::zero();
        const R v = V::loadu(x + at);
        if (pre) V::storeu(pre + at, v);
        return v;
    };
    index_t j = 0;
    if constexpr (epilogue_runs_in_quads(K)) {  // four at a time (epilogue_runs_in_quads says why)
        using Q = Pair<Pair<V>>;
        for (; j + 4 * L <= n; j += 4 * L) {
            typename Q::reg v, z;
            v.lo.lo = load(j, z.lo.lo);
            v.lo.hi = load(j + L, z.lo.hi);
            v.hi.lo = load(j + 2 * L, z.hi.lo);
            v.hi.hi = load(j + 3 * L, z.hi.hi);
            v = register_epilogue<Q>(K, v, z, Q::set1(ep.param));
            V::storeu(x + j, v.lo.lo);
            V::storeu(x + j + L, v.lo.hi);
            V::storeu(x + j + 2 * L, v.hi.lo);
            V::storeu(x + j + 3 * L, v.hi.hi);
        }
    }
    if constexpr (epilogue_runs_in_pairs(K)) {  // two vectors at a time (Pair says why)
        using P = Pair<V>;
        for (; j + 2 * L <= n; j += 2 * L) {
            typename P::reg v, z;
            v.lo = load(j, z.lo);
            v.hi = load(j + L, z.hi);
            v = register_epilogue<P>(K, v, z, P::both(slope));
            V::storeu(x + j, v.lo);
            V::storeu(x + j + L, v.hi);
        }
    }
    for (; j + L <= n; j += L) {
        R z;
        const R v = load(j, z);
        V::storeu(x + j, register_epilogue<V>(K, v, z, slope));
    }
    if (j < n) {  // masked loads and stores only for the last, partial vector (slow stores on AMD)
        const typename V::mask m = V::tail(n - j);
        const R z = grad ? V::loadz(m, ep.z + j) : V::zero();
        const R v = V::loadz(m, x + j);
        if (pre) V::store(pre + j, m, v);
        V::store(x + j, m, register_epilogue<V>(K, v, z, slope));
    }
}

// The activation pass of ukernel.h's contract: ep.kind's instantiation (none and bias have no
// math, so nothing to do)
template <class V>
void epilogue_pass(typename V::scalar* x, index_t n, const Epilogue<typename V::scalar>& ep) {
    switch (ep.kind) {
#define FASTMLP_PASS(K) \
    case EpilogueKind::K: return epilogue_pass_as<V, EpilogueKind::K>(x, n, ep);
        FASTMLP_ACTIVE_EPILOGUE_KINDS(FASTMLP_PASS)
#undef FASTMLP_PASS
        default: return;
    }
}

// A finished tile stored through kind Kind's epilogue, row by row: the old C when accumulating,
// the bias or z, the math, one store per vector. Kind is a constant, so every branch on it folds
// and each row's vectors stay in registers (a switch on the kind per vector, before, cost 40 %
// of a K = 20 tile). For kinds that keep no pre-activation.
template <class V, int M, int NV, bool FullWidth, EpilogueKind Kind>
[[gnu::always_inline]] inline void store_tile_as(const typename V::reg* c0, const typename V::reg* c1,
                                                 typename V::scalar* c, index_t ldc,
                                                 typename V::mask m0, typename V::mask m1,
                                                 bool accumulate,
                                                 const Epilogue<typename V::scalar>& ep) {
    static_assert(!epilogue_stores_pre(Kind), "finish_rows stores the pre-activation");
    using T = typename V::scalar;
    constexpr int L = V::lanes;
    typename V::reg bias0 = V::zero(), bias1 = V::zero();
    if constexpr (epilogue_uses_bias(Kind)) {
        bias0 = V::loadz(m0, ep.bias);
        if constexpr (NV == 2) bias1 = V::loadz(m1, ep.bias + L);
    }
    const typename V::reg slope = V::set1(ep.param);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
        T* ci = c + i * ldc;
        const T* zi = epilogue_uses_z(Kind) ? ep.z + i * ep.ldz : nullptr;
#pragma GCC unroll 2
        for (int q = 0; q < NV; ++q) {
            const typename V::mask mq = q == 0 ? m0 : m1;
            typename V::reg v = q == 0 ? c0[i] : c1[i], z;
            if (accumulate) v = V::add(FullWidth ? V::loadu(ci + q * L) : V::loadz(mq, ci + q * L), v);
            v = epilogue_input<V, FullWidth>(Kind, v, mq, q == 0 ? bias0 : bias1,
                                             zi ? zi + q * L : nullptr, nullptr, z);
            v = register_epilogue<V>(Kind, v, z, slope);
            if constexpr (FullWidth) V::storeu(ci + q * L, v);  // masked stores are slow on AMD
            else V::store(ci + q * L, mq, v);
        }
    }
}

// The rows of a finished tile through kind Kind's epilogue, out of line: sums holds the tile's
// m × NV accumulators (spilled once by the tile), and its vectors run in a loop kept rolled, so
// the kind's math is compiled once per kind rather than once per vector of every tile shape,
// and each vector goes from its sum to its store in registers; most transcendental kinds take
// them two at a time as a Pair. (Gathering the tile's vectors and z into arrays for an
// out-of-line block and storing from there cost a third of the logistic's arithmetic in a
// 256×256→256 float32 layer. Inlining a transcendental kind's math into the full tiles, with
// the k loop's registers, made those layers 1.3-2.5× slower on AVX2.)
template <class V, int NV, bool FullWidth, EpilogueKind Kind>
void finish_rows(const typename V::reg* sums, int m, typename V::scalar* c, index_t ldc,
                 typename V::mask m0, typename V::mask m1, bool accumulate,
                 const Epilogue<typename V::scalar>& ep) {
    using T = typename V::scalar;
    using R = typename V::reg;
    constexpr int L = V::lanes;
    R bias[NV];
#pragma GCC unroll 2
    for (int q = 0; q < NV; ++q)
        bias[q] = epilogue_uses_bias(Kind) ? V::loadz(q == 0 ? m0 : m1, ep.bias + q * L) : V::zero();
    const R slope = V::set1(ep.param);
    // vector t of the tile is row t / NV, vector t % NV of that row
    const auto input = [&](int t, R& z) {
        const int i = t / NV, q = t % NV;
        const typename V::mask mq = q == 0 ? m0 : m1;
        T* const ct = c + i * ldc + q * L;
        R v = sums[t];
        if (accumulate) v = V::add(FullWidth ? V::loadu(ct) : V::loadz(mq, ct), v);
        return epilogue_input<V, FullWidth>(Kind, v, mq, bias[q],
                                           epilogue_uses_z(Kind) ? ep.z + i * ep.ldz + q * L : nullptr,
                                           ep.pre ? ep.pre + i * ep.ldpre + q * L : nullptr, z);
    };
    const auto output = [&](int t, R v) {
        T* const ct = c + (t / NV) * ldc + (t % NV) * L;
        if constexpr (FullWidth) V::storeu(ct, v);
        else V::store(ct, t % NV == 0 ? m0 : m1, v);
    };
    const int count = m * NV;
    int t = 0;
    if constexpr (epilogue_runs_in_quads(Kind)) {  // four at a time (epilogue_runs_in_quads says why)
        using Q = Pair<Pair<V>>;
#pragma GCC unroll 1
        for (; t + 4 <= count; t += 4) {
            typename Q::reg v, z;
            v.lo.lo = input(t, z.lo.lo);
            v.lo.hi = input(t + 1, z.lo.hi);
            v.hi.lo = input(t + 2, z.hi.lo);
            v.hi.hi = input(t + 3, z.hi.hi);
            v = register_epilogue<Q>(Kind, v, z, Q::set1(ep.param));
            output(t, v.lo.lo);
            output(t + 1, v.lo.hi);
            output(t + 2, v.hi.lo);
            output(t + 3, v.hi.hi);
        }
    }
    if constexpr (epilogue_runs_in_pairs(Kind)) {  // two vectors at a time (Pair says why)
        using P = Pair<V>;
#pragma GCC unroll 1
        for (; t + 2 <= count; t += 2) {
            typename P::reg v, z;
            v.lo = input(t, z.lo);
            v.hi = input(t + 1, z.hi);
            v = register_epilogue<P>(Kind, v, z, P::both(slope));
            output(t, v.lo);
            output(t + 1, v.hi);
        }
    }
#pragma GCC unroll 1
    for (; t < count; ++t) {
        R z;
        const R v = input(t, z);
        output(t, register_epilogue<V>(Kind, v, z, slope));
    }
}

template <class V, int NV, bool FullWidth>
using FinishRows = void (*)(const typename V::reg*, int, typename V::scalar*, index_t,
                            typename V::mask, typename V::mask, bool,
                            const Epilogue<typename V::scalar>&);

template <class V, int NV, bool FullWidth>
FinishRows<V, NV, FullWidth> finish_rows_for(EpilogueKind kind) {
    switch (kind) {
#define FASTMLP_FINISH(K) \
    case EpilogueKind::K: return finish_rows<V, NV, FullWidth, EpilogueKind::K>;
        FASTMLP_ACTIVE_EPILOGUE_KINDS(FASTMLP_FINISH) FASTMLP_FINISH(bias)
#undef FASTMLP_FINISH
        default: return finish_rows<V, NV, FullWidth, EpilogueKind::none>;
    }
}

// One tile of M ≤ MR rows and NV vectors (NR = 2 vectors) of features; Full when M == MR.
template <class V, int M, int NV, bool FullWidth, bool Full>
[[gnu::always_inline]] inline void one_tile(index_t kc, const typename V::scalar* a, index_t rs_a,
                                            index_t cs_a, const typename V::scalar* b, index_t ldb,
                                            typename V::scalar* c, index_t ldc, index_t n,
                                            bool accumulate, const Epilogue<typename V::scalar>& ep) {
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
    // The epilogue's rows of C, z and pre start on their way into cache now, so the k loop hides
    // their latency (a tile's rows are ldc apart: the hardware prefetchers miss them when the
    // matrices outgrow L2); a loop of a few k has no latency to hide them behind, and the
    // prefetches were a third of the instructions of a K = 1 tile
    if (kc >= 16) {
#pragma GCC unroll 16
        for (int i = 0; i < M; ++i) {
            __builtin_prefetch(c + i * ldc, 1);
            __builtin_prefetch(c + i * ldc + n - 1, 1);
            if (epilogue_uses_z(ep.kind)) {
                __builtin_prefetch(ep.z + i * ep.ldz);
                __builtin_prefetch(ep.z + i * ep.ldz + n - 1);
            }
            if (ep.pre) {
                __builtin_prefetch(ep.pre + i * ep.ldpre, 1);
                __builtin_prefetch(ep.pre + i * ep.ldpre + n - 1, 1);
            }
        }
    }
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
    // relu's and the linear kinds inline in every tile shape; on full tiles (nearly all of C)
    // the other kinds whose math is a few operations too; the rest out of line, once per tile
#define FASTMLP_INLINE(K) \
    case EpilogueKind::K: \
        return store_tile_as<V, M, NV, FullWidth, EpilogueKind::K>(c0, c1, c, ldc, m0, m1, accumulate, ep);
    switch (ep.kind) {
        FASTMLP_INLINE(none) FASTMLP_INLINE(bias) FASTMLP_INLINE(bias_relu) FASTMLP_INLINE(relu_grad)
        default: break;
    }
    if constexpr (Full) {
        switch (ep.kind) {
            FASTMLP_INLINE(bias_leaky_relu) FASTMLP_INLINE(bias_softsign) FASTMLP_INLINE(bias_hard_tanh)
            FASTMLP_INLINE(logistic_grad) FASTMLP_INLINE(tanh_grad) FASTMLP_INLINE(leaky_relu_grad)
            FASTMLP_INLINE(elu_grad) FASTMLP_INLINE(selu_grad) FASTMLP_INLINE(softsign_grad)
            FASTMLP_INLINE(hard_tanh_grad)
            default: break;
        }
    }
#undef FASTMLP_INLINE
    typename V::reg sums[M * NV];
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
        sums[i * NV] = c0[i];
        if constexpr (NV == 2) sums[i * NV + 1] = c1[i];
    }
    finish_rows_for<V, NV, FullWidth>(ep.kind)(sums, M, c, ldc, m0, m1, accumulate, ep);
}

// `tiles` tiles of M rows down one panel of C: tile t reads A from a + t·sliver and writes rows
// t·M.. of C, z and pre. One call per run of a panel's tiles: for a short k loop (K = 20, 120
// cycles of FMAs on AVX2) the driver's loop, the kernel's dispatch and this function's entry,
// once per tile, had cost as much again (200×20→100 float32: 178 → 155 thousand instructions a
// product; 198×20→96 16 → 10 µs, best of alternated runs on a Zen 3 core).
template <class V, int M, int NV, bool FullWidth, bool Full>
void gemm_tile(index_t tiles, index_t kc, const typename V::scalar* a, index_t rs_a, index_t cs_a,
               index_t sliver, const typename V::scalar* b, index_t ldb, typename V::scalar* c,
               index_t ldc, index_t n, bool accumulate, const Epilogue<typename V::scalar>& ep) {
    Epilogue<typename V::scalar> at = ep;
    for (index_t t = 0; t < tiles; ++t) {
        one_tile<V, M, NV, FullWidth, Full>(kc, a + t * sliver, rs_a, cs_a, b, ldb, c + t * M * ldc,
                                            ldc, n, accumulate, at);
        advance_rows(at, M);
    }
}

// The one-row kernel of ukernel.h's contract (RowKernel) over NV vectors: every k reads one
// contiguous stretch of b's row k, so B streams in order through NV independent FMA chains.
// Full: n == NV·lanes, so plain loads and stores (masked stores are slow on AMD).
template <class V, int NV, bool Full>
void gemm_row_as(index_t kc, const typename V::scalar* a, index_t cs_a, const typename V::scalar* b,
                 index_t ldb, typename V::scalar* c, index_t n, bool accumulate,
                 const Epilogue<typename V::scalar>& ep) {
    // a is (kc) at stride cs_a, b is (kc, n ≤ NV·lanes) of row stride ldb, c is (n)
    using T = typename V::scalar;
    constexpr int L = V::lanes;
    // vectors below `whole` are entirely in the row, `whole` itself (when n is not a multiple
    // of the lanes) partly, those above not at all: plain loads, one masked load, nothing. (A
    // mask per vector left 16 masks for 7 mask registers, reloaded from the stack every k.)
    const int whole = Full ? NV : int(n / L);
    const typename V::mask tail = V::tail(n - index_t(whole) * L);
    // the k loop's sums are never address-taken, so they stay in registers (the epilogue's
    // array, handed to an out-of-line block, kept them in memory: a store per vector per k)
    typename V::reg sum[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) sum[v] = V::zero();
    for (index_t k = 0; k < kc; ++k) {
        const typename V::reg ak = V::set1(a[k * cs_a]);
        const T* bk = b + k * ldb;
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) {
            if (Full || v < whole) sum[v] = V::fma(ak, V::loadu(bk + v * L), sum[v]);
            else if (v == whole) sum[v] = V::fma(ak, V::loadz(tail, bk + v * L), sum[v]);
        }
    }
    const bool grad = epilogue_uses_z(ep.kind);
    typename V::mask mask[NV];
    typename V::reg acc[NV], z[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
        mask[v] = V::tail(n > v * L ? n - v * L : 0);
        acc[v] = sum[v];
        if (accumulate) acc[v] = V::add(Full ? V::loadu(c + v * L) : V::loadz(mask[v], c + v * L), acc[v]);
        typename V::reg bias = V::zero();
        if (epilogue_uses_bias(ep.kind)) bias = Full ? V::loadu(ep.bias + v * L) : V::loadz(mask[v], ep.bias + v * L);
        acc[v] = epilogue_input<V, Full>(ep.kind, acc[v], mask[v], bias, grad ? ep.z + v * L : nullptr,
                                         ep.pre ? ep.pre + v * L : nullptr, z[v]);
    }
    epilogue_block_for<V>(ep.kind)(acc, z, NV, ep.param);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
        if constexpr (Full) V::storeu(c + v * L, acc[v]);
        else if (v < whole) V::storeu(c + v * L, acc[v]);  // masked stores are slow on AMD
        else V::store(c + v * L, mask[v], acc[v]);
    }
}

template <class V, int NV>
void gemm_row(index_t kc, const typename V::scalar* a, index_t cs_a, const typename V::scalar* b,
              index_t ldb, typename V::scalar* c, index_t n, bool accumulate,
              const Epilogue<typename V::scalar>& ep) {
    if (n == NV * V::lanes) return gemm_row_as<V, NV, true>(kc, a, cs_a, b, ldb, c, n, accumulate, ep);
    if constexpr (NV > 2) {  // a narrow chunk (a narrow layer, or the row's last chunk): fewer chains
        if (n <= NV / 2 * V::lanes) return gemm_row<V, NV / 2>(kc, a, cs_a, b, ldb, c, n, accumulate, ep);
    }
    gemm_row_as<V, NV, false>(kc, a, cs_a, b, ldb, c, n, accumulate, ep);
}

// kG rows of a row-major A dotted with a contiguous b: kG independent FMA chains over k.
template <class V, int kG>
[[gnu::always_inline]] inline void dot_rows(index_t kc, const typename V::scalar* a, index_t rs_a,
                                            const typename V::scalar* b, typename V::reg* acc) {
    constexpr int L = V::lanes;
    const index_t whole = kc / L * L;
#pragma GCC unroll 8
    for (int r = 0; r < kG; ++r) acc[r] = V::zero();
    for (index_t k = 0; k < whole; k += L) {
        const typename V::reg bk = V::loadu(b + k);
#pragma GCC unroll 8
        for (int r = 0; r < kG; ++r) acc[r] = V::fma(V::loadu(a + r * rs_a + k), bk, acc[r]);
    }
    if (whole < kc) {
        const typename V::mask tail = V::tail(kc - whole);
        const typename V::reg bk = V::loadz(tail, b + whole);
#pragma GCC unroll 8
        for (int r = 0; r < kG; ++r) acc[r] = V::fma(V::loadz(tail, a + r * rs_a + whole), bk, acc[r]);
    }
}

// The one-column kernel of ukernel.h's contract (ColumnKernel): 8 rows at a time, so 8 FMA
// chains overlap, then each row's lanes summed in halves in registers (V::sum_lanes), a fixed
// order whatever rows share the group (a tile would spend a vector of lanes and a broadcast on
// every single product).
template <class V>
void gemm_column(index_t kc, const typename V::scalar* a, index_t rs_a, const typename V::scalar* b,
                 typename V::scalar* c, index_t ldc, index_t m, bool accumulate,
                 const Epilogue<typename V::scalar>& ep) {
    // a is (m, kc) of row stride rs_a, b is (kc), c is (m) at stride ldc
    using T = typename V::scalar;
    constexpr int kGroup = 8;
    const bool add_bias = ep.kind == EpilogueKind::bias;
    const auto finish = [&](index_t i, typename V::reg acc) {
        const T sum = V::sum_lanes(acc);
        T v = accumulate ? c[i * ldc] + sum : sum;
        if (add_bias) v += ep.bias[0];
        c[i * ldc] = v;
    };
    typename V::reg acc[kGroup];
    index_t i = 0;
    for (; i + kGroup <= m; i += kGroup) {
        dot_rows<V, kGroup>(kc, a + i * rs_a, rs_a, b, acc);
        for (int r = 0; r < kGroup; ++r) finish(i + r, acc[r]);
    }
    for (; i < m; ++i) {
        dot_rows<V, 1>(kc, a + i * rs_a, rs_a, b, acc);
        finish(i, acc[0]);
    }
}

// The tiles of m rows (MR > m ≥ 1 for a partial tile, or `tiles` full ones) for the width of n.
template <class V, int M, int MR>
void gemm_tiles(index_t tiles, index_t kc, const typename V::scalar* a, index_t rs_a, index_t cs_a,
                index_t sliver, const typename V::scalar* b, index_t ldb, typename V::scalar* c,
                index_t ldc, index_t m, index_t n, bool accumulate,
                const Epilogue<typename V::scalar>& ep) {
    constexpr int NR = 2 * V::lanes;
    if constexpr (M > 0) {
        if (m == M) {
            if (n == NR)
                return gemm_tile<V, M, 2, true, M == MR>(tiles, kc, a, rs_a, cs_a, sliver, b, ldb, c, ldc, n, accumulate, ep);
            if (n > NR / 2)
                return gemm_tile<V, M, 2, false, M == MR>(tiles, kc, a, rs_a, cs_a, sliver, b, ldb, c, ldc, n, accumulate, ep);
            return gemm_tile<V, M, 1, false, M == MR>(tiles, kc, a, rs_a, cs_a, sliver, b, ldb, c, ldc, n, accumulate, ep);
        }
        return gemm_tiles<V, M - 1, MR>(tiles, kc, a, rs_a, cs_a, sliver, b, ldb, c, ldc, m, n, accumulate, ep);
    }
}

// The micro-kernel of ukernel.h's contract: m rows of a panel as full MR-row tiles, then a
// partial tile for the last m mod MR rows.
template <class V, int MR>
void gemm_ukr_rows(index_t kc, const typename V::scalar* a, index_t rs_a, index_t cs_a,
                   index_t sliver, const typename V::scalar* b, index_t ldb, typename V::scalar* c,
                   index_t ldc, index_t m, index_t n, bool accumulate,
                   const Epilogue<typename V::scalar>& ep) {
    const index_t full = m / MR, rest = m - full * MR;
    if (full > 0) gemm_tiles<V, MR, MR>(full, kc, a, rs_a, cs_a, sliver, b, ldb, c, ldc, MR, n, accumulate, ep);
    if (rest > 0) {
        Epilogue<typename V::scalar> at = ep;
        advance_rows(at, full * MR);
        gemm_tiles<V, MR - 1, MR>(1, kc, a + full * sliver, rs_a, cs_a, sliver, b, ldb, c + full * MR * ldc,
                                  ldc, rest, n, accumulate, at);
    }
}

}  // namespace
}  // namespace fastmlp::FASTMLP_ISA_NAMESPACE
