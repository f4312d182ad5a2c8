// AVX2 + FMA micro-kernels: 6 rows × 2 vectors of features, 12 ymm accumulators (BLIS haswell's
// shape). Compiled with AVX2/FMA flags; reached only through the dispatcher.
// Everything this file compiles is named fastmlp::avx2::... (see epilogue_scalar.h).
#define FASTMLP_ISA_NAMESPACE avx2
#include <immintrin.h>

#include "../gemm_tile_simd.h"
#include "../kernel_sets.h"
#include "../optimizer_step.h"

namespace fastmlp::avx2 {
namespace {

// lanes j < n of a 32-bit lane mask: a window into -1 ×8, 0 ×8
alignas(32) const int kMaskWindow[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

template <class T>
struct Ymm;

template <>
struct Ymm<float> {
    using scalar = float;
    using reg = __m256;
    using mask = __m256i;
    static constexpr int lanes = 8;
    static mask tail(index_t n) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskWindow + 8 - (n >= 8 ? 8 : n)));
    }
    static reg zero() { return _mm256_setzero_ps(); }
    static reg set1(float x) { return _mm256_set1_ps(x); }
    static reg loadu(const float* p) { return _mm256_loadu_ps(p); }
    static reg loadz(mask k, const float* p) { return _mm256_maskload_ps(p, k); }
    static void store(float* p, mask k, reg v) { _mm256_maskstore_ps(p, k, v); }
    static void storeu(float* p, reg v) { _mm256_storeu_ps(p, v); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
    static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
    static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
    static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
    static reg keep_nonzero(reg z, reg v) {  // z == 0 ? 0 : v, NaN z keeps v
        return _mm256_and_ps(_mm256_cmp_ps(z, zero(), _CMP_NEQ_UQ), v);
    }
    static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
    static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
    static reg abs(reg v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
    static reg select_positive(reg z, reg a, reg b) {  // z > 0 ? a : b (NaN z: b)
        return _mm256_blendv_ps(b, a, _mm256_cmp_ps(z, zero(), _CMP_GT_OQ));
    }
    static reg keep_inside_unit(reg z, reg v) {  // |z| < 1 ? v : 0, NaN z keeps v
        return _mm256_and_ps(_mm256_cmp_ps(abs(z), set1(1.0f), _CMP_NGE_UQ), v);
    }
    static reg select_less(reg x, reg y, reg a, reg b) {  // x < y ? a : b (NaN: b)
        return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, y, _CMP_LT_OQ));
    }
    static bool any_less(reg x, reg y) { return _mm256_movemask_ps(_mm256_cmp_ps(x, y, _CMP_LT_OQ)) != 0; }
    static bool all_less(reg x, reg y) { return _mm256_movemask_ps(_mm256_cmp_ps(x, y, _CMP_LT_OQ)) == 0xFF; }
    static reg copy_sign(reg magnitude, reg sign) {
        const reg s = _mm256_set1_ps(-0.0f);
        return _mm256_or_ps(_mm256_andnot_ps(s, magnitude), _mm256_and_ps(s, sign));
    }
    static float sum_lanes(reg v) {  // in halves: lane l + lane l+4, then +2, +1
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        return _mm_cvtss_f32(s);
    }
    static reg pow2(reg n) {  // 2^n for integral n with a normal result (ScalarLane::pow2)
        const reg biased = _mm256_add_ps(n, set1(vector_math_constants::Constants<float>::pow2_magic));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(biased), 23));
    }
};

template <>
struct Ymm<double> {
    using scalar = double;
    using reg = __m256d;
    using mask = __m256i;
    static constexpr int lanes = 4;
    static mask tail(index_t n) {  // 64-bit lanes: widen the 32-bit window
        const index_t k = n >= 4 ? 4 : n;
        return _mm256_cvtepi32_epi64(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(kMaskWindow + 8 - k)));
    }
    static reg zero() { return _mm256_setzero_pd(); }
    static reg set1(double x) { return _mm256_set1_pd(x); }
    static reg loadu(const double* p) { return _mm256_loadu_pd(p); }
    static reg loadz(mask k, const double* p) { return _mm256_maskload_pd(p, k); }
    static void store(double* p, mask k, reg v) { _mm256_maskstore_pd(p, k, v); }
    static void storeu(double* p, reg v) { _mm256_storeu_pd(p, v); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
    static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
    static reg sub(reg a, reg b) { return _mm256_sub_pd(a, b); }
    static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
    static reg max(reg a, reg b) { return _mm256_max_pd(a, b); }
    static reg keep_nonzero(reg z, reg v) {
        return _mm256_and_pd(_mm256_cmp_pd(z, zero(), _CMP_NEQ_UQ), v);
    }
    static reg min(reg a, reg b) { return _mm256_min_pd(a, b); }
    static reg div(reg a, reg b) { return _mm256_div_pd(a, b); }
    static reg abs(reg v) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), v); }
    static reg select_positive(reg z, reg a, reg b) {
        return _mm256_blendv_pd(b, a, _mm256_cmp_pd(z, zero(), _CMP_GT_OQ));
    }
    static reg keep_inside_unit(reg z, reg v) {
        return _mm256_and_pd(_mm256_cmp_pd(abs(z), set1(1.0), _CMP_NGE_UQ), v);
    }
    static reg select_less(reg x, reg y, reg a, reg b) {
        return _mm256_blendv_pd(b, a, _mm256_cmp_pd(x, y, _CMP_LT_OQ));
    }
    static bool any_less(reg x, reg y) { return _mm256_movemask_pd(_mm256_cmp_pd(x, y, _CMP_LT_OQ)) != 0; }
    static bool all_less(reg x, reg y) { return _mm256_movemask_pd(_mm256_cmp_pd(x, y, _CMP_LT_OQ)) == 0xF; }
    static reg copy_sign(reg magnitude, reg sign) {
        const reg s = _mm256_set1_pd(-0.0);
        return _mm256_or_pd(_mm256_andnot_pd(s, magnitude), _mm256_and_pd(s, sign));
    }
    static double sum_lanes(reg v) {  // in halves: lane l + lane l+2, then +1
        const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
        return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
    }
    static reg pow2(reg n) {
        const reg biased = _mm256_add_pd(n, set1(vector_math_constants::Constants<double>::pow2_magic));
        return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(biased), 52));
    }
};

constexpr int kMR = 6;
constexpr int kRowVectors = 8;  // 8 accumulators of 16 ymm: 8 FMA chains cover the FMA latency

template <class T>
void gemm_ukr_avx2(index_t kc, const T* a, index_t rs_a, index_t cs_a, index_t sliver, const T* b,
                   index_t ldb, T* c, index_t ldc, index_t m, index_t n, bool accumulate,
                   const Epilogue<T>& ep) {
    gemm_ukr_rows<Ymm<T>, kMR>(kc, a, rs_a, cs_a, sliver, b, ldb, c, ldc, m, n, accumulate, ep);
}

}  // namespace

KernelSet kernels() {
    KernelSet set;
    set.isa = "avx2";
    set.sgemm = {gemm_ukr_avx2<float>, kMR, 16, 256, 120, 4096, "sgemm_ukr_avx2_6x16"};
    set.dgemm = {gemm_ukr_avx2<double>, kMR, 8, 256, 120, 2048, "dgemm_ukr_avx2_6x8"};
    set.sgemm.b_in_place_max_rows = set.dgemm.b_in_place_max_rows = 48;  // gemm.cpp: Zen 3
    set.sgemm.pass = epilogue_pass<Ymm<float>>;
    set.dgemm.pass = epilogue_pass<Ymm<double>>;
    set.sgemm.step = optimizer_step<float>;
    set.dgemm.step = optimizer_step<double>;
    set.sgemm.row = gemm_row<Ymm<float>, kRowVectors>;
    set.sgemm.row_nr = kRowVectors * Ymm<float>::lanes;
    set.dgemm.row = gemm_row<Ymm<double>, kRowVectors>;
    set.dgemm.row_nr = kRowVectors * Ymm<double>::lanes;
    set.sgemm.column = gemm_column<Ymm<float>>;
    set.dgemm.column = gemm_column<Ymm<double>>;
    return set;
}

}  // namespace fastmlp::avx2
