#include "network.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace fastmlp {

namespace {

index_t checked_mul(index_t a, index_t b) {
    index_t r;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
        throw std::length_error("array size overflows 64 bits");
    return r;
}

index_t checked_add(index_t a, index_t b) {
    index_t r;
    if (__builtin_add_overflow(a, b, &r)) throw std::length_error("array size overflows 64 bits");
    return r;
}

// Rows per block of network_forward: weights are packed once per block, activations take
// 2 × block × widest layer.
constexpr index_t kForwardBlockRows = 4096;

}  // namespace

NetSpec::NetSpec(std::vector<index_t> units_, Activation hidden_, Output output_)
    : units(std::move(units_)), hidden(hidden_), output(output_) {
    if (units.size() < 2) throw std::invalid_argument("a network needs at least 2 layers of units");
    for (index_t u : units)
        if (u <= 0) throw std::invalid_argument("every layer needs at least one unit");
    index_t offset = 0;
    for (index_t l = 0; l < n_layers(); ++l) {
        coef_offsets_.push_back(offset);
        offset = checked_add(offset, checked_mul(units[l], units[l + 1]));
    }
    for (index_t l = 0; l < n_layers(); ++l) {
        bias_offsets_.push_back(offset);
        offset = checked_add(offset, units[l + 1]);
    }
    n_params_ = offset;
}

index_t NetSpec::widest() const { return *std::max_element(units.begin() + 1, units.end()); }

template <class T>
Trainer<T>::Trainer(NetSpec spec, index_t max_rows) : spec_(std::move(spec)), max_rows_(max_rows) {
    if (max_rows <= 0) throw std::invalid_argument("max_rows must be positive");
    // input_ (a gathered dense batch) is sized on first dense use: sparse input never needs it,
    // and max_rows × n_features can be gigabytes for wide sparse data
    targets_.resize(checked_mul(max_rows, spec_.n_outputs()));
    labels_.resize(max_rows);
    weights_.resize(max_rows);
    for (index_t l = 0; l < spec_.n_layers(); ++l) {
        acts_.emplace_back(checked_mul(max_rows, spec_.units[l + 1]));
        deltas_.emplace_back(checked_mul(max_rows, spec_.units[l + 1]));
    }
    row_loss_.resize(max_rows);
    grad_.resize(spec_.n_params());
    block_rows_.resize(max_rows);
}

template <class T>
double Trainer<T>::batch_pass(T* grad, const T* params, const InputMatrix<T>& X, const Targets<T>& Y,
                              const T* sample_weight, const std::int64_t* rows, index_t B,
                              bool accumulate, double* weight_sum, int n_threads) {
    const NetSpec& s = spec_;
    const index_t L = s.n_layers(), C0 = s.n_inputs(), K = s.n_outputs();

    // gather the batch: rows of X (dense only; CSR is read in place), Y and the weights, in
    // plain loops (rows are often a few dozen bytes, too short for a memmove call to pay)
    if (!X.is_sparse()) {
        if (input_.empty()) input_.resize(checked_mul(max_rows_, C0));
#pragma omp parallel for num_threads(n_threads) schedule(static) if (B * C0 >= kElementwiseParallelMin)
        for (index_t i = 0; i < B; ++i) {
            const T* src = X.dense + rows[i] * C0;
            T* dst = input_.data() + i * C0;
            for (index_t j = 0; j < C0; ++j) dst[j] = src[j];
        }
    }
    if (Y.labels) {
        for (index_t i = 0; i < B; ++i) labels_[i] = Y.labels[rows[i]];
    } else {
        for (index_t i = 0; i < B; ++i) {
            const T* src = Y.dense + rows[i] * K;
            T* dst = targets_.data() + i * K;
            for (index_t k = 0; k < K; ++k) dst[k] = src[k];
        }
    }
    const T* w = nullptr;
    double wsum = 0.0;
    if (sample_weight) {
        for (index_t i = 0; i < B; ++i) {
            weights_[i] = sample_weight[rows[i]];
            wsum += double(weights_[i]);
        }
        w = weights_.data();
    } else {
        wsum = double(B);
    }
    *weight_sum += wsum;

    // forward
    for (index_t l = 0; l < L; ++l) {
        const T* W = params + s.coef_offset(l);
        const T* b = params + s.bias_offset(l);
        T* out = acts_[l].data();
        const Activation act = l + 1 < L ? s.hidden : Activation::identity;  // output map: below
        if (l == 0 && X.is_sparse()) {
            linear_forward_csr(out, X, rows, W, b, B, C0, s.units[1], n_threads);
            activation_forward(act, out, B * s.units[1], n_threads);
        } else {
            linear_forward(out, l == 0 ? input_.data() : acts_[l - 1].data(), W, b, B, s.units[l],
                           s.units[l + 1], act, n_threads);
        }
    }

    // output map, loss and the output delta p - y in one pass per row
    output_loss_forward_backward(s.output, deltas_[L - 1].data(), row_loss_.data(),
                                 acts_[L - 1].data(), Y.labels ? nullptr : targets_.data(),
                                 Y.labels ? labels_.data() : nullptr, w, B, K, n_threads);
    double loss = 0.0;  // summed in row order: the same bits for any thread count
    for (index_t i = 0; i < B; ++i) loss += w ? double(w[i]) * row_loss_[i] : row_loss_[i];

    // backward
    for (index_t l = L - 1; l >= 0; --l) {
        T* dW = grad + s.coef_offset(l);
        T* db = grad + s.bias_offset(l);
        const T* dout = deltas_[l].data();
        if (l == 0 && X.is_sparse()) {
            linear_backward_csr(dW, db, dout, X, rows, B, C0, s.units[1], accumulate, n_threads);
            continue;
        }
        const T* inp = l == 0 ? input_.data() : acts_[l - 1].data();
        T* dinp = l == 0 ? nullptr : deltas_[l - 1].data();
        linear_backward(dinp, dW, db, dout, inp, params + s.coef_offset(l), B, s.units[l],
                        s.units[l + 1], s.hidden, accumulate, n_threads);
    }
    return loss;
}

// Σ x² in double, over fixed chunks and fixed lanes within each chunk, combined in order: the
// lanes let it vectorise and the chunks let it run in parallel, with the same bits for any
// thread count.
template <class T>
double sum_of_squares(const T* x, index_t n, int n_threads) {
    constexpr index_t kChunk = 1 << 13;
    constexpr int kLanes = 8;
    const index_t n_chunks = (n + kChunk - 1) / kChunk;
    std::vector<double> partial(n_chunks);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n >= kElementwiseParallelMin)
    for (index_t c = 0; c < n_chunks; ++c) {
        const index_t begin = c * kChunk, end = std::min(n, begin + kChunk);
        double lane[kLanes] = {};
        index_t i = begin;
        for (; i + kLanes <= end; i += kLanes)
            for (int l = 0; l < kLanes; ++l) lane[l] += double(x[i + l]) * double(x[i + l]);
        for (; i < end; ++i) lane[(i - begin) % kLanes] += double(x[i]) * double(x[i]);
        double s = 0.0;
        for (int l = 0; l < kLanes; ++l) s += lane[l];
        partial[c] = s;
    }
    double total = 0.0;
    for (double p : partial) total += p;
    return total;
}

// scikit-learn's gradient from the raw sum: weights take the L2 term, (raw + alpha·w) / Σw;
// biases raw / Σw.
template <bool Weight, class T>
inline T finished_gradient(T raw, T param, T alpha, T weight_sum) {
    return Weight ? (raw + alpha * param) / weight_sum : raw / weight_sum;
}

template <class T>
double Trainer<T>::l2_term(const T* params, double alpha, double weight_sum, int n_threads) const {
    if (alpha == 0.0) return 0.0;
    return 0.5 * alpha * sum_of_squares(params, spec_.n_coefs(), n_threads) / weight_sum;
}

template <class T>
double Trainer<T>::finish_gradient(T* grad, const T* params, double alpha, double weight_sum,
                                   int n_threads) const {
    const index_t n_coefs = spec_.n_coefs(), n = spec_.n_params();
    const T a = T(alpha), scale = T(weight_sum);
    const bool parallel = n >= kElementwiseParallelMin;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (index_t i = 0; i < n_coefs; ++i)
        grad[i] = finished_gradient<true>(grad[i], params[i], a, scale);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (index_t i = n_coefs; i < n; ++i)
        grad[i] = finished_gradient<false>(grad[i], params[i], a, scale);
    return l2_term(params, alpha, weight_sum, n_threads);
}

namespace {

// The optimizer's pass over [begin, end) of the arenas, weights ([0, n_coefs)) or biases, with
// the gradient finished on the fly.
template <bool Weight, class T>
void sgd_range(T* params, T* vel, const T* grad, index_t begin, index_t end, T a, T scale, T mu,
               T lr, bool nesterov, bool parallel, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (index_t i = begin; i < end; ++i) {
        const T g = finished_gradient<Weight>(grad[i], params[i], a, scale);
        const T v = mu * vel[i] - lr * g;
        vel[i] = v;
        params[i] += nesterov ? mu * v - lr * g : v;
    }
}

template <bool Weight, class T>
void adam_range(T* params, T* m, T* v, const T* grad, index_t begin, index_t end, T a, T scale,
                T lr, T b1, T b2, T one_b1, T one_b2, T eps, bool parallel, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (index_t i = begin; i < end; ++i) {
        const T g = finished_gradient<Weight>(grad[i], params[i], a, scale);
        m[i] = b1 * m[i] + one_b1 * g;
        v[i] = b2 * v[i] + one_b2 * (g * g);
        params[i] += (-lr * m[i]) / (std::sqrt(v[i]) + eps);
    }
}

}  // namespace

template <class T>
void optimizer_update(T* params, OptimizerState<T>& state, const T* grad, index_t n,
                      index_t n_coefs, double weight_sum, const Hyper& h, int n_threads) {
    // params, grad and the state arrays are (n), all in the arena layout; grad is the raw sum
    // Xᵀ·delta (and Σ delta), finished here in the same pass as the step
    const bool parallel = n >= kElementwiseParallelMin;
    const T a = T(h.alpha), scale = T(weight_sum);
    if (h.solver == Solver::sgd) {
        const T mu = T(h.momentum), lr = T(h.learning_rate);
        sgd_range<true>(params, state.velocity, grad, 0, n_coefs, a, scale, mu, lr, h.nesterov,
                        parallel, n_threads);
        sgd_range<false>(params, state.velocity, grad, n_coefs, n, a, scale, mu, lr, h.nesterov,
                         parallel, n_threads);
        return;
    }
    state.t += 1;
    const double t = double(state.t);
    const T lr = T(h.learning_rate * std::sqrt(1.0 - std::pow(h.beta_2, t)) /
                   (1.0 - std::pow(h.beta_1, t)));
    const T b1 = T(h.beta_1), b2 = T(h.beta_2), one_b1 = T(1.0 - h.beta_1),
            one_b2 = T(1.0 - h.beta_2), eps = T(h.epsilon);
    adam_range<true>(params, state.m, state.v, grad, 0, n_coefs, a, scale, lr, b1, b2, one_b1,
                     one_b2, eps, parallel, n_threads);
    adam_range<false>(params, state.m, state.v, grad, n_coefs, n, a, scale, lr, b1, b2, one_b1,
                      one_b2, eps, parallel, n_threads);
}

template <class T>
EpochResult Trainer<T>::train_epoch(T* params, OptimizerState<T>& state, const InputMatrix<T>& X,
                                    const Targets<T>& Y, const T* sample_weight, const std::int64_t* order,
                                    index_t n, index_t batch_size, const Hyper& hyper,
                                    int n_threads, const std::function<bool()>& should_stop) {
    if (batch_size <= 0 || batch_size > max_rows_)
        throw std::invalid_argument("batch_size must be in [1, max_rows]");
    EpochResult result;
    double accumulated = 0.0;
    for (index_t start = 0; start < n; start += batch_size) {
        if (should_stop && should_stop()) {
            result.interrupted = true;
            return result;
        }
        const index_t B = std::min(batch_size, n - start);
        double weight_sum = 0.0;
        const double data_loss = batch_pass(grad_.data(), params, X, Y, sample_weight,
                                            order + start, B, false, &weight_sum, n_threads);
        // a batch whose weights are all zero carries no information: skip its step
        if (weight_sum > 0.0) {
            const double l2 = l2_term(params, hyper.alpha, weight_sum, n_threads);
            accumulated += (data_loss / weight_sum + l2) * double(B);
            optimizer_update(params, state, grad_.data(), spec_.n_params(), spec_.n_coefs(),
                             weight_sum, hyper, n_threads);
        }
    }
    result.loss = accumulated / double(n);
    return result;
}

template <class T>
double Trainer<T>::loss_and_grad(T* grad, const T* params, const InputMatrix<T>& X, const Targets<T>& Y,
                                 const T* sample_weight, double alpha, int n_threads) {
    const index_t n = X.rows;
    double data_loss = 0.0, weight_sum = 0.0;
    for (index_t start = 0; start < n; start += max_rows_) {
        const index_t B = std::min(max_rows_, n - start);
        for (index_t i = 0; i < B; ++i) block_rows_[i] = start + i;
        data_loss += batch_pass(grad, params, X, Y, sample_weight, block_rows_.data(), B,
                                start > 0, &weight_sum, n_threads);
    }
    const double l2 = finish_gradient(grad, params, alpha, weight_sum, n_threads);
    return data_loss / weight_sum + l2;
}

template <class T>
void network_forward(T* out, const NetSpec& s, const T* params, const InputMatrix<T>& X,
                     int n_threads) {
    // X is (N, units[0]); out is (N, K)
    const index_t N = X.rows, L = s.n_layers(), K = s.n_outputs();
    const index_t block = std::min(N, kForwardBlockRows);
    if (block == 0) return;
    std::vector<T> ping(checked_mul(block, s.widest())), pong(ping.size());
    std::vector<std::int64_t> rows(block);
    for (index_t start = 0; start < N; start += block) {
        const index_t B = std::min(block, N - start);
        const T* inp = nullptr;
        for (index_t l = 0; l < L; ++l) {
            T* dst = l + 1 == L ? out + start * K : (l % 2 == 0 ? ping.data() : pong.data());
            const T* W = params + s.coef_offset(l);
            const T* b = params + s.bias_offset(l);
            const Activation act = l + 1 < L ? s.hidden : Activation::identity;
            if (l == 0 && X.is_sparse()) {
                for (index_t i = 0; i < B; ++i) rows[i] = start + i;
                linear_forward_csr(dst, X, rows.data(), W, b, B, s.units[0], s.units[1], n_threads);
                activation_forward(act, dst, B * s.units[1], n_threads);
            } else {
                const T* src = l == 0 ? X.dense + start * s.units[0] : inp;
                linear_forward(dst, src, W, b, B, s.units[l], s.units[l + 1], act, n_threads);
            }
            inp = dst;
        }
        output_forward(s.output, out + start * K, B, K, n_threads);
    }
}

template <class T>
bool all_finite(const InputMatrix<T>& X, int n_threads) {
    // NaN and ±inf are the values whose exponent bits are all ones. An integer OR-reduction of
    // that test vectorises (a floating-point one would not, without reassociation).
    using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    constexpr Bits exponent = sizeof(T) == 4 ? Bits(0x7f800000u) : Bits(0x7ff0000000000000ull);
    const T* p = X.is_sparse() ? X.data : X.dense;
    const index_t n = X.is_sparse() ? X.indptr[X.rows] : X.rows * X.cols;
    Bits bad = 0;  // OR is order-free: any split gives the same answer
#pragma omp parallel for num_threads(n_threads) schedule(static) reduction(| : bad) if (n >= kElementwiseParallelMin * 8)
    for (index_t i = 0; i < n; ++i) {
        Bits b;
        std::memcpy(&b, p + i, sizeof b);
        bad |= Bits((b & exponent) == exponent);
    }
    return bad == 0;
}

template class Trainer<float>;
template class Trainer<double>;
template void network_forward<float>(float*, const NetSpec&, const float*, const InputMatrix<float>&, int);
template void network_forward<double>(double*, const NetSpec&, const double*, const InputMatrix<double>&, int);
template bool all_finite<float>(const InputMatrix<float>&, int);
template bool all_finite<double>(const InputMatrix<double>&, int);
template void optimizer_update<float>(float*, OptimizerState<float>&, const float*, index_t, index_t, double, const Hyper&, int);
template void optimizer_update<double>(double*, OptimizerState<double>&, const double*, index_t, index_t, double, const Hyper&, int);

}  // namespace fastmlp
