// AVX-512 (F/BW/DQ/VL) micro-kernels: 12 rows × 2 vectors of features, 24 zmm accumulators.
// Compiled with AVX-512 flags; reached only through the dispatcher on CPUs that have them.
// Everything this file compiles is named fastmlp::avx512::... (see epilogue_scalar.h).
#define FASTMLP_ISA_NAMESPACE avx512
#include <immintrin.h>

#include "../gemm_tile_simd.h"
#include "../kernel_sets.h"
#include "../optimizer_step.h"

namespace fastmlp::avx512 {
namespace {

template <class T>
struct Zmm;

template <>
struct Zmm<float> {
    using scalar = float;
    using reg = __m512;
    using mask = __mmask16;
    static constexpr int lanes = 16;
    static mask tail(index_t n) { return n >= 16 ? mask(0xFFFF) : mask((1u << n) - 1u); }
    static reg zero() { return _mm512_setzero_ps(); }
    static reg set1(float x) { return _mm512_set1_ps(x); }
    static reg loadu(const float* p) { return _mm512_loadu_ps(p); }
    static reg loadz(mask k, const float* p) { return _mm512_maskz_loadu_ps(k, p); }
    static void store(float* p, mask k, reg v) { _mm512_mask_storeu_ps(p, k, v); }
    static void storeu(float* p, reg v) { _mm512_storeu_ps(p, v); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
    static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
    static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
    static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
    static reg keep_nonzero(reg z, reg v) {  // z == 0 ? 0 : v, NaN z keeps v
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(z, zero(), _CMP_NEQ_UQ), v);
    }
    static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
    static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
    static reg abs(reg v) { return _mm512_abs_ps(v); }
    static reg select_positive(reg z, reg a, reg b) {  // z > 0 ? a : b (NaN z: b)
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, zero(), _CMP_GT_OQ), b, a);
    }
    static reg keep_inside_unit(reg z, reg v) {  // |z| < 1 ? v : 0, NaN z keeps v
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(abs(z), set1(1.0f), _CMP_NGE_UQ), v);
    }
    static reg select_less(reg x, reg y, reg a, reg b) {  // x < y ? a : b (NaN: b)
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, y, _CMP_LT_OQ), b, a);
    }
    static bool any_less(reg x, reg y) { return _mm512_cmp_ps_mask(x, y, _CMP_LT_OQ) != 0; }
    static bool all_less(reg x, reg y) { return _mm512_cmp_ps_mask(x, y, _CMP_LT_OQ) == 0xFFFF; }
    static reg copy_sign(reg magnitude, reg sign) {
        const __m512i s = _mm512_set1_epi32(int(0x80000000u));
        return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(s, _mm512_castps_si512(magnitude)),
                                                   _mm512_and_si512(s, _mm512_castps_si512(sign))));
    }
    // Σ lanes in halves (lane l + lane l+8, then +4, +2, +1), as ScalarLane's model sums
    static float sum_lanes(reg v) { return _mm512_reduce_add_ps(v); }
    static reg pow2(reg n) {  // 2^n for integral n with a normal result (ScalarLane::pow2)
        const reg biased = _mm512_add_ps(n, set1(vector_math_constants::Constants<float>::pow2_magic));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(biased), 23));
    }
};

template <>
struct Zmm<double> {
    using scalar = double;
    using reg = __m512d;
    using mask = __mmask8;
    static constexpr int lanes = 8;
    static mask tail(index_t n) { return n >= 8 ? mask(0xFF) : mask((1u << n) - 1u); }
    static reg zero() { return _mm512_setzero_pd(); }
    static reg set1(double x) { return _mm512_set1_pd(x); }
    static reg loadu(const double* p) { return _mm512_loadu_pd(p); }
    static reg loadz(mask k, const double* p) { return _mm512_maskz_loadu_pd(k, p); }
    static void store(double* p, mask k, reg v) { _mm512_mask_storeu_pd(p, k, v); }
    static void storeu(double* p, reg v) { _mm512_storeu_pd(p, v); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
    static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
    static reg sub(reg a, reg b) { return _mm512_sub_pd(a, b); }
    static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
    static reg max(reg a, reg b) { return _mm512_max_pd(a, b); }
    static reg keep_nonzero(reg z, reg v) {
        return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(z, zero(), _CMP_NEQ_UQ), v);
    }
    static reg min(reg a, reg b) { return _mm512_min_pd(a, b); }
    static reg div(reg a, reg b) { return _mm512_div_pd(a, b); }
    static reg abs(reg v) { return _mm512_abs_pd(v); }
    static reg select_positive(reg z, reg a, reg b) {
        return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(z, zero(), _CMP_GT_OQ), b, a);
    }
    static reg keep_inside_unit(reg z, reg v) {
        return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(abs(z), set1(1.0), _CMP_NGE_UQ), v);
    }
    static reg select_less(reg x, reg y, reg a, reg b) {
        return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, y, _CMP_LT_OQ), b, a);
    }
    static bool any_less(reg x, reg y) { return _mm512_cmp_pd_mask(x, y, _CMP_LT_OQ) != 0; }
    static bool all_less(reg x, reg y) { return _mm512_cmp_pd_mask(x, y, _CMP_LT_OQ) == 0xFF; }
    static reg copy_sign(reg magnitude, reg sign) {
        const __m512i s = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ull));
        return _mm512_castsi512_pd(_mm512_or_si512(_mm512_andnot_si512(s, _mm512_castpd_si512(magnitude)),
                                                   _mm512_and_si512(s, _mm512_castpd_si512(sign))));
    }
    static double sum_lanes(reg v) { return _mm512_reduce_add_pd(v); }  // in halves
    static reg pow2(reg n) {
        const reg biased = _mm512_add_pd(n, set1(vector_math_constants::Constants<double>::pow2_magic));
        return _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_castpd_si512(biased), 52));
    }
};

constexpr int kMR = 12;

template <class T>
void gemm_ukr_avx512(index_t kc, const T* a, index_t rs_a, index_t cs_a, index_t sliver, const T* b,
                     index_t ldb, T* c, index_t ldc, index_t m, index_t n, bool accumulate,
                     const Epilogue<T>& ep) {
    gemm_ukr_rows<Zmm<T>, kMR>(kc, a, rs_a, cs_a, sliver, b, ldb, c, ldc, m, n, accumulate, ep);
}

constexpr int kRowVectors = 16;  // 16 accumulators of 32 zmm: a 256-float (128-double) chunk

}  // namespace

KernelSet kernels() {
    KernelSet set;
    set.isa = "avx512";
    // KC: a deep K block (a B panel of 128 KB, read from L2 rather than L1) means fewer passes
    // over C and fewer blocks to synchronise: on a Zen 5 core (1 MB L2), interleaved C++ runs,
    // float32 KC 256 → 1024 took 2048³ from 154-171 to 178-196 GFLOP/s, 4096×784→256 from
    // 135-179 to 186-217, and no shape slower; float64 gained most at 512
    set.sgemm = {gemm_ukr_avx512<float>, kMR, 32, 1024, 240, 4096, "sgemm_ukr_avx512_12x32"};
    set.dgemm = {gemm_ukr_avx512<double>, kMR, 16, 512, 120, 2048, "dgemm_ukr_avx512_12x16"};
    set.sgemm.pass = epilogue_pass<Zmm<float>>;
    set.dgemm.pass = epilogue_pass<Zmm<double>>;
    set.sgemm.step = optimizer_step<float>;
    set.dgemm.step = optimizer_step<double>;
    set.sgemm.row = gemm_row<Zmm<float>, kRowVectors>;
    set.sgemm.row_nr = kRowVectors * Zmm<float>::lanes;
    set.dgemm.row = gemm_row<Zmm<double>, kRowVectors>;
    set.dgemm.row_nr = kRowVectors * Zmm<double>::lanes;
    set.sgemm.column = gemm_column<Zmm<float>>;
    set.dgemm.column = gemm_column<Zmm<double>>;
    return set;
}

}  // namespace fastmlp::avx512
