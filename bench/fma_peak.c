/* FMA peak: every thread runs 12 independent chains of vector FMAs for a fixed number of
 * iterations; GFLOP/s = threads * iterations * 12 * lanes * 2 / seconds.
 * Distinct starting values keep the compiler from merging chains; the sums are printed so none
 * is dead. Built at run time by bench/_common.py with explicit ISA flags (never a flag for the build machine's own CPU). */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define CHAINS 12

#if defined(USE_AVX512)
typedef __m512 vs;
typedef __m512d vd;
#define LANES_S 16
#define LANES_D 8
#define SET1_S _mm512_set1_ps
#define SET1_D _mm512_set1_pd
#define FMA_S _mm512_fmadd_ps
#define FMA_D _mm512_fmadd_pd
#define SUM_S _mm512_reduce_add_ps
#define SUM_D _mm512_reduce_add_pd
#else
typedef __m256 vs;
typedef __m256d vd;
#define LANES_S 8
#define LANES_D 4
#define SET1_S _mm256_set1_ps
#define SET1_D _mm256_set1_pd
#define FMA_S _mm256_fmadd_ps
#define FMA_D _mm256_fmadd_pd
static float SUM_S(__m256 v) { float t[8]; _mm256_storeu_ps(t, v); return t[0] + t[7]; }
static double SUM_D(__m256d v) { double t[4]; _mm256_storeu_pd(t, v); return t[0] + t[3]; }
#endif

static double run(int threads, long iters, int dbl) {
    double sink = 0.0;
    double t0 = omp_get_wtime();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
        if (!dbl) {
            vs acc[CHAINS];
            const vs a = SET1_S(0.999999f), b = SET1_S(1e-7f);
            for (int c = 0; c < CHAINS; ++c) acc[c] = SET1_S(1.0f + c);
            for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
                for (int c = 0; c < CHAINS; ++c) acc[c] = FMA_S(acc[c], a, b);
            }
            for (int c = 0; c < CHAINS; ++c) sink += SUM_S(acc[c]);
        } else {
            vd acc[CHAINS];
            const vd a = SET1_D(0.999999), b = SET1_D(1e-7);
            for (int c = 0; c < CHAINS; ++c) acc[c] = SET1_D(1.0 + c);
            for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
                for (int c = 0; c < CHAINS; ++c) acc[c] = FMA_D(acc[c], a, b);
            }
            for (int c = 0; c < CHAINS; ++c) sink += SUM_D(acc[c]);
        }
    }
    double seconds = omp_get_wtime() - t0;
    fprintf(stderr, "%g\n", sink);
    const double lanes = dbl ? LANES_D : LANES_S;
    return threads * (double)iters * CHAINS * lanes * 2.0 / seconds / 1e9;
}

int main(int argc, char** argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 1;
    const long iters = argc > 2 ? atol(argv[2]) : 50000000L;
    double best_s = 0, best_d = 0;
    for (int r = 0; r < 3; ++r) {
        double s = run(threads, iters, 0), d = run(threads, iters, 1);
        if (s > best_s) best_s = s;
        if (d > best_d) best_d = d;
    }
    printf("%f %f\n", best_s, best_d);
    return 0;
}
