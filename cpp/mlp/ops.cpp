#include "ops.h"

#include "../dispatch/dispatch.h"
#include "../kernels/epilogue_scalar.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace fastmlp {

namespace {

// x·log(y), zero where x is zero (scipy's xlogy)
inline double xlogy(double x, double y) { return x == 0.0 ? 0.0 : x * std::log(y); }

}  // namespace

EpilogueKind forward_epilogue(Activation act) {
    switch (act) {
        case Activation::identity: return EpilogueKind::bias;
        case Activation::logistic: return EpilogueKind::bias_logistic;
        case Activation::tanh: return EpilogueKind::bias_tanh;
        case Activation::relu: return EpilogueKind::bias_relu;
        case Activation::leaky_relu: return EpilogueKind::bias_leaky_relu;
        case Activation::elu: return EpilogueKind::bias_elu;
        case Activation::selu: return EpilogueKind::bias_selu;
        case Activation::gelu: return EpilogueKind::bias_gelu;
        case Activation::silu: return EpilogueKind::bias_silu;
        case Activation::softplus: return EpilogueKind::bias_softplus;
        case Activation::softsign: return EpilogueKind::bias_softsign;
        case Activation::mish: return EpilogueKind::bias_mish;
        case Activation::hard_tanh: return EpilogueKind::bias_hard_tanh;
    }
    return EpilogueKind::bias;
}

EpilogueKind backward_epilogue(Activation act) {
    switch (act) {
        case Activation::identity: return EpilogueKind::none;
        case Activation::logistic: return EpilogueKind::logistic_grad;
        case Activation::tanh: return EpilogueKind::tanh_grad;
        case Activation::relu: return EpilogueKind::relu_grad;
        case Activation::leaky_relu: return EpilogueKind::leaky_relu_grad;
        case Activation::elu: return EpilogueKind::elu_grad;
        case Activation::selu: return EpilogueKind::selu_grad;
        case Activation::gelu: return EpilogueKind::gelu_grad;
        case Activation::silu: return EpilogueKind::silu_grad;
        case Activation::softplus: return EpilogueKind::softplus_grad;
        case Activation::softsign: return EpilogueKind::softsign_grad;
        case Activation::mish: return EpilogueKind::mish_grad;
        case Activation::hard_tanh: return EpilogueKind::hard_tanh_grad;
    }
    return EpilogueKind::none;
}

template <class T>
void linear_forward(T* out, const T* inp, const T* weight, const T* bias, index_t N, index_t C,
                    index_t OC, Activation act, GemmWorkspace<T>& ws, T* pre, T slope) {
    // inp is (N,C), weight is (C,OC), bias is (OC), out is (N,OC), pre is (N,OC) or null
    Epilogue<T> ep;
    ep.kind = forward_epilogue(act);
    ep.bias = bias;
    if (activation_needs_pre(act) && pre) {
        ep.pre = pre;
        ep.ldpre = OC;
    }
    ep.param = slope;
    gemm_in_team(ws, out, OC, row_major(inp, C), row_major(weight, OC), N, OC, C, false, ep,
                 static_cast<T*>(nullptr));
}

template <class T>
void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     index_t N, index_t C, index_t OC, Activation inp_act, bool accumulate,
                     GemmWorkspace<T>& ws, const T* inp_pre, T slope) {
    // dout is (N,OC), inp is (N,C), weight is (C,OC); dinp is (N,C), dweight (C,OC), dbias (OC);
    // inp_pre is (N,C), read only when inp_act needs it
    // dweight(C,OC) (+)= inpᵀ(C,N) · dout(N,OC): inp read down its columns, dbias (+)= the
    // column sums of dout, summed as it is packed or read
    gemm_in_team(ws, dweight, OC, transposed(inp, C), row_major(dout, OC), C, OC, N, accumulate,
                 Epilogue<T>{}, dbias);
    if (dinp) {
        // dinp(N,C) = dout(N,OC) · weightᵀ(OC,C): weight read with swapped strides
        Epilogue<T> ep;
        ep.kind = backward_epilogue(inp_act);
        ep.z = activation_needs_pre(inp_act) ? inp_pre : inp;
        ep.ldz = C;
        ep.param = slope;
        gemm_in_team(ws, dinp, C, row_major(dout, OC), transposed(weight, OC), N, C, OC, false, ep,
                     static_cast<T*>(nullptr));
    }
}

template <class T>
void linear_forward_csr(T* out, const InputMatrix<T>& inp, const std::int64_t* rows,
                        const T* weight, const T* bias, index_t N, index_t C, index_t OC) {
    // inp is CSR (.,C) read at rows(N), weight is (C,OC), out is (N,OC)
    (void)C;
#pragma omp for schedule(static)
    for (index_t i = 0; i < N; ++i) {
        T* o = out + i * OC;
        std::copy(bias, bias + OC, o);
        const std::int64_t r = rows[i];
        for (std::int64_t p = inp.indptr[r]; p < inp.indptr[r + 1]; ++p) {
            const T v = inp.data[p];
            const T* w = weight + inp.indices[p] * OC;
            for (index_t j = 0; j < OC; ++j) o[j] += v * w[j];
        }
    }
}

template <class T>
void linear_backward_csr(T* dweight, T* dbias, const T* dout, const InputMatrix<T>& inp,
                         const std::int64_t* rows, index_t N, index_t C, index_t OC,
                         bool accumulate) {
    // dout is (N,OC), inp is CSR (.,C) read at rows(N); dweight is (C,OC), dbias is (OC)
    // Threads own disjoint column blocks of dweight, so rows are scattered without races and
    // every element is summed in row order.
    constexpr index_t kColumnBlock = 64;
    const index_t n_blocks = (OC + kColumnBlock - 1) / kColumnBlock;
#pragma omp for schedule(static)
    for (index_t blk = 0; blk < n_blocks; ++blk) {
        const index_t j0 = blk * kColumnBlock, j1 = std::min(OC, j0 + kColumnBlock);
        if (!accumulate) {
            for (index_t c = 0; c < C; ++c) std::fill(dweight + c * OC + j0, dweight + c * OC + j1, T(0));
            std::fill(dbias + j0, dbias + j1, T(0));
        }
        for (index_t i = 0; i < N; ++i) {
            const T* d = dout + i * OC;
            for (index_t j = j0; j < j1; ++j) dbias[j] += d[j];
            const std::int64_t r = rows[i];
            for (std::int64_t p = inp.indptr[r]; p < inp.indptr[r + 1]; ++p) {
                const T v = inp.data[p];
                T* dw = dweight + inp.indices[p] * OC;
                for (index_t j = j0; j < j1; ++j) dw[j] += v * d[j];
            }
        }
    }
}

namespace {

// Elements per call of the active kernels' activation pass: a team splits x into such chunks.
constexpr index_t kPassChunk = 4096;

// The active ISA's activation pass over x(n) with ep, chunk by chunk across the team
template <class T>
void run_pass(T* x, index_t n, Epilogue<T> ep) {
    const PassKernel<T> pass = gemm_kernel<T>(active_kernels()).pass;
    T* const pre = ep.pre;
    const T* const z = ep.z;
    const index_t chunks = (n + kPassChunk - 1) / kPassChunk;
#pragma omp for schedule(static)
    for (index_t c = 0; c < chunks; ++c) {
        const index_t j = c * kPassChunk;
        Epilogue<T> part = ep;
        if (pre) part.pre = pre + j;
        if (z) part.z = z + j;
        pass(x + j, std::min(kPassChunk, n - j), part);
    }
}

}  // namespace

template <class T>
void activation_forward(Activation kind, T* x, index_t n, T* pre, T slope) {
    // x is (n), overwritten with g(x); pre is (n) or null
    if (kind == Activation::identity) return;
    Epilogue<T> ep;
    ep.kind = forward_epilogue(kind);
    ep.pre = activation_needs_pre(kind) ? pre : nullptr;
    ep.param = slope;
    run_pass(x, n, ep);
}

template <class T>
void activation_backward(Activation kind, T* dx, const T* out, index_t n, const T* pre, T slope) {
    // dx and out are (n); out = g(pre-activation), so each derivative but gelu's, silu's and
    // mish's is a function of out; those three read pre (n)
    if (kind == Activation::identity) return;
    Epilogue<T> ep;
    ep.kind = backward_epilogue(kind);
    ep.z = activation_needs_pre(kind) ? pre : out;
    ep.param = slope;
    run_pass(dx, n, ep);
}

namespace {

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ull;

inline std::uint64_t splitmix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace

std::uint64_t dropout_key(std::uint64_t seed, std::int64_t batch, std::int64_t layer) {
    const std::uint64_t k = splitmix64(seed + kGolden * (std::uint64_t(batch) + 1));
    return splitmix64(k + kGolden * (std::uint64_t(layer) + 1));
}

template <class T>
void dropout_forward(T* out, T* mask, const T* inp, index_t N, index_t C, double rate,
                     std::uint64_t key) {
    // out, mask and inp are (N,C); the mask of element e depends on (key, e) only
    const std::uint64_t threshold = std::uint64_t(std::ceil(rate * 9007199254740992.0));  // 2^53
    const T keep = T(1.0 / (1.0 - rate));
    const index_t n = N * C;
#pragma omp for schedule(static)
    for (index_t e = 0; e < n; ++e) {
        const std::uint64_t h = splitmix64(key + kGolden * (std::uint64_t(e) + 1));
        const T m = (h >> 11) < threshold ? T(0) : keep;
        mask[e] = m;
        out[e] = inp[e] * m;
    }
}

template <class T>
void dropout_backward(T* dx, const T* mask, index_t n) {
    // dx and mask are (n)
#pragma omp for schedule(static)
    for (index_t i = 0; i < n; ++i) dx[i] *= mask[i];
}

namespace {

template <class T>
inline void softmax_row(T* z, index_t K) {
    T zmax = z[0];
    for (index_t k = 1; k < K; ++k) zmax = std::max(zmax, z[k]);
    T sum = 0;
    for (index_t k = 0; k < K; ++k) {
        z[k] = std::exp(z[k] - zmax);
        sum += z[k];
    }
    for (index_t k = 0; k < K; ++k) z[k] /= sum;
}

// The threshold of sparsemax over z(K), by Michelot's algorithm, with no scratch memory: tau
// starts at the mean threshold of all K values and is recomputed over the values above it until
// the set stops shrinking (at most K rounds; tau only grows). Computed in double on z - zmax
// (zmax is returned), so the largest value is 0 and always in the support: tau < 0.
// sparsemax(z)_k = max(z_k - zmax - tau, 0).
template <class T>
inline double sparsemax_threshold(const T* z, index_t K, T& zmax) {
    zmax = z[0];
    for (index_t k = 1; k < K; ++k) zmax = std::max(zmax, z[k]);
    double tau = -std::numeric_limits<double>::infinity();
    for (index_t round = 0; round <= K; ++round) {
        double sum = 0.0;
        index_t n = 0;
        for (index_t k = 0; k < K; ++k) {
            const double u = double(z[k]) - double(zmax);
            if (u > tau) {
                sum += u;
                ++n;
            }
        }
        if (n == 0) break;  // only with NaN in z
        const double next = (sum - 1.0) / double(n);
        if (!(next > tau)) break;  // the support did not change
        tau = next;
    }
    return tau;
}

template <class T>
inline double sparsemax_of(T zk, T zmax, double tau) {
    const double u = double(zk) - double(zmax) - tau;
    return u > 0.0 ? u : 0.0;
}

// the 2-class sparsemax of (0, z), its positive entry
template <class T>
inline double binary_sparsemax_of(T z) {
    return std::min(std::max(0.5 * (double(z) + 1.0), 0.0), 1.0);
}

template <class T>
inline void output_row(Output kind, T* z, index_t K) {
    switch (kind) {
        case Output::softmax_cross_entropy:
            softmax_row(z, K);
            return;
        case Output::logistic_binary_cross_entropy:
            for (index_t k = 0; k < K; ++k) z[k] = logistic_of(z[k]);
            return;
        case Output::identity_squared_error:
            return;
        case Output::exp_poisson:
        case Output::exp_gamma:
            for (index_t k = 0; k < K; ++k) z[k] = std::exp(z[k]);
            return;
        case Output::sparsemax: {
            T zmax;
            const double tau = sparsemax_threshold(z, K, zmax);
            for (index_t k = 0; k < K; ++k) z[k] = T(sparsemax_of(z[k], zmax, tau));
            return;
        }
        case Output::sparsemax_binary:
            for (index_t k = 0; k < K; ++k) z[k] = T(binary_sparsemax_of(z[k]));
            return;
        case Output::identity_absolute_error:
        case Output::identity_huber:
        case Output::identity_quantile:
            return;
    }
}

template <class T>
inline double row_loss_of(Output kind, const T* p, const T* y, index_t K) {
    constexpr T eps = std::numeric_limits<T>::epsilon();
    double loss = 0.0;
    switch (kind) {
        case Output::softmax_cross_entropy:
            for (index_t k = 0; k < K; ++k) {
                const T pc = std::min(std::max(p[k], eps), T(1) - eps);
                loss -= xlogy(double(y[k]), double(pc));
            }
            return loss;
        case Output::logistic_binary_cross_entropy:
            for (index_t k = 0; k < K; ++k) {
                const T pc = std::min(std::max(p[k], eps), T(1) - eps);
                loss -= xlogy(double(y[k]), double(pc)) +
                        xlogy(double(T(1) - y[k]), double(T(1) - pc));
            }
            return loss;
        case Output::identity_squared_error:
            for (index_t k = 0; k < K; ++k) {
                const double r = double(y[k]) - double(p[k]);
                loss += 0.5 * r * r;
            }
            return loss;
        case Output::exp_poisson:
            // half Poisson deviance: y log(y/p) - y + p
            for (index_t k = 0; k < K; ++k) {
                const double yk = y[k], pk = p[k];
                loss += xlogy(yk, yk / pk) - yk + pk;
            }
            return loss;
        default:  // the losses of loss_row below
            return loss;
    }
    return loss;
}

// Whether a row takes loss_row (the outputs added for issue 6, and the log-losses with label
// smoothing) rather than the original pass, which stays as it was bit for bit.
inline bool extended_loss(Output kind, const LossParams& lp) {
    switch (kind) {
        case Output::softmax_cross_entropy:
        case Output::logistic_binary_cross_entropy:
            return lp.label_smoothing != 0.0;
        case Output::identity_squared_error:
        case Output::exp_poisson:
            return false;
        default:
            return true;
    }
}

// One row of the extended losses: z(K) becomes p, d(K) the loss' gradient in z; returns the
// row's unweighted loss. The target of output k is q(k): y[k], or for class indices
// (y null) 1 at k == label and 0 elsewhere, label-smoothed for the classification outputs.
template <class T>
double loss_row(Output kind, const LossParams& lp, T* d, T* z, const T* y, index_t label,
                index_t K) {
    const double eps = lp.label_smoothing;
    const bool multiclass = kind == Output::softmax_cross_entropy || kind == Output::sparsemax;
    const bool classes = multiclass || kind == Output::logistic_binary_cross_entropy ||
                         kind == Output::sparsemax_binary;
    auto q = [&](index_t k) {
        const double yk = y ? double(y[k]) : (k == label ? 1.0 : 0.0);
        if (!classes) return yk;
        return multiclass ? (1.0 - eps) * yk + eps / double(K) : yk * (1.0 - eps) + 0.5 * eps;
    };
    constexpr T teps = std::numeric_limits<T>::epsilon();
    auto clipped = [&](T pk) { return double(std::min(std::max(pk, teps), T(1) - teps)); };
    double loss = 0.0;
    switch (kind) {
        case Output::softmax_cross_entropy:
            softmax_row(z, K);
            for (index_t k = 0; k < K; ++k) {
                const double qk = q(k);
                loss -= xlogy(qk, clipped(z[k]));
                d[k] = T(double(z[k]) - qk);
            }
            return loss;
        case Output::logistic_binary_cross_entropy:
            for (index_t k = 0; k < K; ++k) {
                z[k] = logistic_of(z[k]);
                const double qk = q(k), pc = clipped(z[k]);
                loss -= xlogy(qk, pc) + xlogy(1.0 - qk, 1.0 - pc);
                d[k] = T(double(z[k]) - qk);
            }
            return loss;
        case Output::sparsemax: {
            // ½‖p - q‖² + Σ_k q_k·max(tau - z_k, 0): a sum of non-negative terms, exact for
            // logits of any size (the paper's form cancels between -q·z and ½Σz_k²)
            T zmax;
            const double tau = sparsemax_threshold(z, K, zmax);
            double square = 0.0, margin = 0.0;
            for (index_t k = 0; k < K; ++k) {
                const double u = double(z[k]) - double(zmax) - tau, pk = u > 0.0 ? u : 0.0;
                const double qk = q(k), r = pk - qk;
                square += r * r;
                if (u < 0.0) margin += qk * -u;
                z[k] = T(pk);
                d[k] = T(r);
            }
            return 0.5 * square + margin;
        }
        case Output::sparsemax_binary:
            // per column the sparsemax loss of (0, z) and target (1 - q, q): (p - q)² +
            // q·max(tau - z, 0) + (1 - q)·max(tau, 0) with tau = z - 1 (z > 1), -1 (z < -1),
            // (z - 1)/2 otherwise
            for (index_t k = 0; k < K; ++k) {
                const double zk = z[k], pk = binary_sparsemax_of(z[k]), qk = q(k), r = pk - qk;
                loss += r * r;
                if (zk > 1.0) loss += (1.0 - qk) * (zk - 1.0);
                if (zk < -1.0) loss += qk * (-1.0 - zk);
                z[k] = T(pk);
                d[k] = T(r);
            }
            return loss;
        case Output::identity_absolute_error:
            for (index_t k = 0; k < K; ++k) {
                loss += std::abs(double(z[k]) - double(y[k]));
                d[k] = T(int(z[k] > y[k]) - int(z[k] < y[k]));
            }
            return loss;
        case Output::identity_huber: {
            const double delta = lp.huber_delta;
            for (index_t k = 0; k < K; ++k) {
                const double r = double(z[k]) - double(y[k]), a = std::abs(r);
                loss += a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
                d[k] = T(std::min(std::max(r, -delta), delta));
            }
            return loss;
        }
        case Output::identity_quantile: {
            const double qt = lp.quantile;
            for (index_t k = 0; k < K; ++k) {
                const double r = double(y[k]) - double(z[k]);
                loss += r >= 0.0 ? qt * r : (qt - 1.0) * r;
                // the subgradient at p == y is 0, the element of [-q, 1 - q] nearest to 0
                d[k] = T(r < 0.0 ? 1.0 - qt : (r > 0.0 ? -qt : 0.0));
            }
            return loss;
        }
        case Output::exp_gamma:
            // log(p/y) + y/p - 1 with log p = z and y/p = y·e^-z: finite where p itself overflows
            for (index_t k = 0; k < K; ++k) {
                const double zk = z[k], yk = y[k], ratio = yk * std::exp(-zk);
                loss += zk - std::log(yk) + ratio - 1.0;
                z[k] = std::exp(z[k]);
                d[k] = T(1.0 - ratio);
            }
            return loss;
        case Output::identity_squared_error:
        case Output::exp_poisson:
            break;  // never here: extended_loss is false for them
    }
    return loss;
}

}  // namespace

// The logistic output map of a whole (N,K) block as one activation pass of the active ISA:
// vector_math's logistic, the bits output_row's per-element logistic_of gives, 8 or 16 lanes at
// a time (one lane at a time it was half of a binary model's loss pass).
template <class T>
void logistic_block(T* z, index_t n) {
    Epilogue<T> ep;
    ep.kind = EpilogueKind::bias_logistic;
    run_pass(z, n, ep);
}

template <class T>
void output_forward(Output kind, T* z, index_t N, index_t K) {
    // z is (N,K), overwritten with the output map
    if (kind == Output::logistic_binary_cross_entropy) return logistic_block(z, N * K);
#pragma omp for schedule(static)
    for (index_t i = 0; i < N; ++i) output_row(kind, z + i * K, K);
}

template <class T>
void output_loss_forward_backward(Output kind, T* delta, double* row_loss, T* z, const T* y,
                                  const std::int32_t* labels, const T* sample_weight,
                                  const LossParams& loss, index_t N, index_t K) {
    // z and delta are (N,K); y is (N,K) or labels is (N); sample_weight and row_loss are (N)
    constexpr T eps = std::numeric_limits<T>::epsilon();
    const bool extended = extended_loss(kind, loss);
    const bool mapped = !extended && !labels && kind == Output::logistic_binary_cross_entropy;
    // a row with a dense target and p in place: kind is an Output, or for the binary log-loss a
    // constant, so that its rows' loop has no dispatch per row (the general one spent ~140
    // instructions a row besides the logarithm: most of a binary model's loss)
    const auto dense_row = [&](index_t i, auto kind_now) {
        T* p = z + i * K;
        T* d = delta + i * K;
        const T* yi = y + i * K;
        row_loss[i] = row_loss_of(Output(kind_now), p, yi, K);
        for (index_t k = 0; k < K; ++k) d[k] = p[k] - yi[k];
    };
    const auto finish_row = [&](index_t i) {
        T* p = z + i * K;
        T* d = delta + i * K;
        if (extended) {
            row_loss[i] = loss_row(kind, loss, d, p, labels ? nullptr : y + i * K,
                                   labels ? index_t(labels[i]) : index_t(-1), K);
        } else if (labels) {  // softmax with a class index: -log p[label], delta = p - onehot
            output_row(kind, p, K);
            const index_t c = labels[i];
            row_loss[i] = -std::log(double(std::min(std::max(p[c], eps), T(1) - eps)));
            for (index_t k = 0; k < K; ++k) d[k] = p[k];
            d[c] -= T(1);
        } else {
            output_row(kind, p, K);
            dense_row(i, kind);
        }
    };
    const auto weigh_row = [&](index_t i) {
        if (!sample_weight) return;
        T* d = delta + i * K;
        const T w = sample_weight[i];
        for (index_t k = 0; k < K; ++k) d[k] *= w;
    };
    // rows in blocks: for the binary log-loss, a block's logistic map by the activation pass
    // just before its rows, in one worksharing loop (a pass over all of z, then the rows, had a
    // barrier between them)
    constexpr index_t kBlockRows = 16;
    const index_t n_blocks = (N + kBlockRows - 1) / kBlockRows;
    if (mapped) {
        Epilogue<T> logistic;
        logistic.kind = EpilogueKind::bias_logistic;
        const PassKernel<T> pass = gemm_kernel<T>(active_kernels()).pass;
        using BinaryLogLoss = std::integral_constant<Output, Output::logistic_binary_cross_entropy>;
#pragma omp for schedule(static)
        for (index_t block = 0; block < n_blocks; ++block) {
            const index_t i0 = block * kBlockRows, i1 = std::min(N, i0 + kBlockRows);
            pass(z + i0 * K, (i1 - i0) * K, logistic);
            for (index_t i = i0; i < i1; ++i) {
                dense_row(i, BinaryLogLoss{});
                weigh_row(i);
            }
        }
    } else {
#pragma omp for schedule(static)
        for (index_t block = 0; block < n_blocks; ++block) {
            const index_t i0 = block * kBlockRows, i1 = std::min(N, i0 + kBlockRows);
            for (index_t i = i0; i < i1; ++i) {
                finish_row(i);
                weigh_row(i);
            }
        }
    }
}

#define FASTMLP_INSTANTIATE_OPS(T)                                                              \
    template void linear_forward<T>(T*, const T*, const T*, const T*, index_t, index_t, index_t, \
                                    Activation, GemmWorkspace<T>&, T*, T);                      \
    template void linear_backward<T>(T*, T*, T*, const T*, const T*, const T*, index_t, index_t, \
                                     index_t, Activation, bool, GemmWorkspace<T>&, const T*, T); \
    template void linear_forward_csr<T>(T*, const InputMatrix<T>&, const std::int64_t*,         \
                                        const T*, const T*, index_t, index_t, index_t);         \
    template void linear_backward_csr<T>(T*, T*, const T*, const InputMatrix<T>&,               \
                                         const std::int64_t*, index_t, index_t, index_t, bool); \
    template void activation_forward<T>(Activation, T*, index_t, T*, T);                        \
    template void activation_backward<T>(Activation, T*, const T*, index_t, const T*, T);       \
    template void dropout_forward<T>(T*, T*, const T*, index_t, index_t, double, std::uint64_t); \
    template void dropout_backward<T>(T*, const T*, index_t);                                   \
    template void output_forward<T>(Output, T*, index_t, index_t);                              \
    template void output_loss_forward_backward<T>(Output, T*, double*, T*, const T*,            \
                                                  const std::int32_t*, const T*,                 \
                                                  const LossParams&, index_t, index_t);
FASTMLP_INSTANTIATE_OPS(float)
FASTMLP_INSTANTIATE_OPS(double)

}  // namespace fastmlp
