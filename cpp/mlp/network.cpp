#include "network.h"

#include "../dispatch/dispatch.h"
#include "../kernels/finished_gradient.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <strings.h>
#include <unistd.h>

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

// Refuses, before allocating, a buffer larger than this machine's memory: with over-commit such
// an allocation can succeed and get the process killed when touched, and a sanitizer build ends
// the process on it rather than throwing. Where the memory size is unknown, allocation decides.
void require_allocatable(index_t elements, std::size_t element_size) {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
    // asked once: glibc answers _SC_PHYS_PAGES with a sysinfo system call (~1 µs of every
    // one-row prediction when asked each time)
    static const double memory_bytes = [] {
        const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
        return pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
    }();
    if (memory_bytes > 0.0 && double(elements) * double(element_size) > memory_bytes)
        throw std::bad_alloc();
#else
    (void)elements;
    (void)element_size;
#endif
}

// A training step (forward, loss, backward, optimizer: a dozen barriers) wakes its team only from
// this many multiply-adds. Epochs of 20000 rows in batches of 200 on a Zen 3 core pair, best of 5
// alternated processes, 2 threads against 1: d → 100 → 1 with d = 50 (3.1M) 1.50× faster, d = 24
// (1.5M) 1.24×, d = 20 (1.3M) 1.21×, d = 16 (1.0M) 0.86-1.09×, d = 10 (0.7M) 0.88×; 20 → 50 → 1
// (0.6M) 1.07×, 10 → 50 → 1 (0.3M) 0.97×, 5 → 20 → 1 0.87×. (It was 8M after 50 → 100 → 1 ran
// no faster on 2 threads, measured when the micro-kernel was still called once per tile.) For
// kernels with wider tiles than AVX2's 16 floats it grows with the width: their core does as
// many more multiply-adds a cycle, so a step of as many is over sooner, while waking and
// synchronising the team costs the same (AVX-512 float32 from 2M: on a Zen 5 core pair the
// 1.3M step had measured slower on 2 threads, when its micro-kernel was called per tile).
constexpr double kStepTeamMinMacs = double(index_t(1) << 20);
constexpr int kStepTeamMinMacsTileWidth = 16;

// Rows per block of network_forward: weights are packed once per block, activations take
// 2 × block × widest layer. 1024 rather than 4096: the activations a layer hands to the next
// stay nearer (1 MB rather than 4 for a 256-wide layer), which outweighs packing the weights
// 4x as often. 10000 rows of 784 → 256 → 128 → 10, C++ on a Zen 3 pair, alternated rounds: 1
// thread 61-84 → 55-78 ms (faster in 4 of 4 rounds), 2 threads 32-43 → 29-42 (4 of 5); 100000
// rows of 20 → 100 → 1 4.9-6.6 → 4.3-5.6 ms (3 of 3).
constexpr index_t kForwardBlockRows = 1024;

// A forward too small to wake a team (one row, say) still shares its layers' columns with the
// team when its weights are many (from this many multiply-adds: 512 KB of float32 weights, which
// two cores stream faster than one) and the team is warm: the calling thread's previous forward
// ended less than kWarmForwardGap ago, so the other threads are still spinning (GOMP_SPINCOUNT,
// set at import) rather than asleep. One row of 784 → 256 → 128 → 10 in a loop, in C++ on a Zen 3
// pair: 19.5 → 14.5 µs (mean; 784 → 512 → 10 34.5 → 21.8), where 784 → 64 → 10 (51K) was
// slower on two. Asleep, they cost more than they give: with 1 ms between calls the same row
// took 38 µs on one thread and 89 on two, with 0.1 ms 26 and 20; so a call after a pause stays
// on one, and so does every call when the user's settings put idle threads to sleep sooner.
constexpr double kWarmForwardMinMacs = double(index_t(1) << 17);
constexpr std::chrono::microseconds kWarmForwardGap{150};

// When the calling thread's previous forward ended (its team is this thread's own)
thread_local std::chrono::steady_clock::time_point last_forward_end{};

// The spins before an idle thread sleeps that fastmlp sets at import (~0.5 ms): SPIN_COUNT in
// python/fastmlp/_config.py
constexpr double kSpinsSetAtImport = 20000.0;

// Whether the user's settings may put idle OpenMP threads to sleep before kWarmForwardGap is
// over: OMP_WAIT_POLICY=passive, or a GOMP_SPINCOUNT below kSpinsSetAtImport (fastmlp's own
// applies when neither is set)
bool threads_sleep_when_idle() {
    static const bool soon = [] {
        const char* policy = std::getenv("OMP_WAIT_POLICY");
        if (policy && strcasecmp(policy, "passive") == 0) return true;
        // a count (with a k, M, G or T suffix) or INFINITE
        const char* spins = std::getenv("GOMP_SPINCOUNT");
        if (!spins || *spins == 'i' || *spins == 'I') return false;
        static constexpr char kSuffixes[] = "kMGT";
        char* suffix = nullptr;
        const double count = std::strtod(spins, &suffix);
        const char* scale = *suffix ? std::strchr(kSuffixes, *suffix) : nullptr;
        const double multiplier = scale ? std::pow(1000.0, double(scale - kSuffixes + 1)) : 1.0;
        return count * multiplier < kSpinsSetAtImport;
    }();
    return soon;
}

// Σ x² in double, over fixed chunks and fixed lanes within each chunk, combined in order: the
// lanes let it vectorise and the chunks let it run in parallel, with the same bits for any
// thread count. Team code: partial has square_sum_chunks(n) entries and ends up holding each
// chunk's sum; every thread returns the total.
constexpr index_t kSquareSumChunk = 1 << 13;

index_t square_sum_chunks(index_t n) { return (n + kSquareSumChunk - 1) / kSquareSumChunk; }

template <class T>
double sum_of_squares(double* partial, const T* x, index_t n) {
    constexpr int kLanes = 8;
    const index_t n_chunks = square_sum_chunks(n);
#pragma omp for schedule(static)
    for (index_t c = 0; c < n_chunks; ++c) {
        const index_t begin = c * kSquareSumChunk, end = std::min(n, begin + kSquareSumChunk);
        double lane[kLanes] = {};
        index_t i = begin;
        for (; i + kLanes <= end; i += kLanes)
            for (int l = 0; l < kLanes; ++l) lane[l] += double(x[i + l]) * double(x[i + l]);
        for (; i < end; ++i) lane[(i - begin) % kLanes] += double(x[i]) * double(x[i]);
        double s = 0.0;
        for (int l = 0; l < kLanes; ++l) s += lane[l];
        partial[c] = s;
    }
    // after the loop's barrier every thread adds the same partial sums in the same order
    double total = 0.0;
    for (index_t c = 0; c < n_chunks; ++c) total += partial[c];
    return total;
}

}  // namespace

NetSpec::NetSpec(std::vector<index_t> units_, Activation hidden_, Output output_)
    : NetSpec(units_, std::vector<Activation>(units_.size() < 2 ? 0 : units_.size() - 2, hidden_),
              output_) {}

NetSpec::NetSpec(std::vector<index_t> units_, std::vector<Activation> hidden_, Output output_,
                 double negative_slope_)
    : units(std::move(units_)), hidden(std::move(hidden_)), output(output_),
      negative_slope(negative_slope_) {
    if (units.size() < 2) throw std::invalid_argument("a network needs at least 2 layers of units");
    if (hidden.size() + 2 != units.size())
        throw std::invalid_argument("a network needs one activation per hidden layer");
    if (!(negative_slope >= 0.0 && negative_slope < 1.0))
        throw std::invalid_argument("negative_slope must be in [0, 1)");
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
    // everything below, in elements of T (row_loss_ and block_rows_ are 8 bytes: counted twice)
    index_t units = 0;
    index_t pre_units = 0;  // the pre-activation buffers of gelu, silu and mish layers
    for (index_t l = 0; l < spec_.n_layers(); ++l) {
        units = checked_add(units, spec_.units[l + 1]);
        if (activation_needs_pre(spec_.activation(l))) pre_units = checked_add(pre_units, spec_.units[l + 1]);
    }
    require_allocatable(checked_add(checked_mul(max_rows, checked_add(checked_add(2 * units, pre_units),
                                                                      spec_.n_outputs() + 6)),
                                    spec_.n_params()),
                        sizeof(T));
    // input_ (a gathered dense batch) is sized on first dense use: sparse input never needs it,
    // and max_rows × n_features can be gigabytes for wide sparse data
    targets_.resize(checked_mul(max_rows, spec_.n_outputs()));
    labels_.resize(max_rows);
    weights_.resize(max_rows);
    for (index_t l = 0; l < spec_.n_layers(); ++l) {
        acts_.emplace_back(checked_mul(max_rows, spec_.units[l + 1]));
        deltas_.emplace_back(checked_mul(max_rows, spec_.units[l + 1]));
        pres_.emplace_back(activation_needs_pre(spec_.activation(l))
                               ? checked_mul(max_rows, spec_.units[l + 1])
                               : index_t(0));
    }
    row_loss_.resize(max_rows);
    grad_.resize(spec_.n_params());
    block_rows_.resize(max_rows);
    square_sums_.resize(square_sum_chunks(spec_.n_params()));  // n_coefs (L2) or n_params (clipping)
}

template <class T>
void Trainer<T>::prepare_dropout(const double* dropout) {
    const index_t hidden = spec_.n_layers() - 1;
    dropped_.resize(hidden);
    masks_.resize(hidden);
    for (index_t l = 0; l < hidden; ++l) {
        if (!drops(dropout, l) || !dropped_[l].empty()) continue;
        const index_t size = checked_mul(max_rows_, spec_.units[l + 1]);
        require_allocatable(checked_mul(size, 2), sizeof(T));
        dropped_[l].resize(size);
        masks_[l].resize(size);
    }
}

template <class T>
void Trainer<T>::prepare(const InputMatrix<T>& X) {
    if (!X.is_sparse() && input_.empty()) {
        require_allocatable(checked_mul(max_rows_, spec_.n_inputs()), sizeof(T));
        input_.resize(checked_mul(max_rows_, spec_.n_inputs()));
    }
    // every product of a step has its M, N and K among the batch length and the layer widths
    // (the input width only when dense: a sparse first layer is not a GEMM)
    index_t dim = std::max(max_rows_, spec_.widest());
    if (!X.is_sparse()) dim = std::max(dim, spec_.n_inputs());
    gemm_ws_.prepare(gemm_kernel<T>(active_kernels()), dim);
}

template <class T>
bool Trainer<T>::step_is_parallel(const InputMatrix<T>& X, index_t B, int n_threads) const {
    if (n_threads <= 1) return false;
    // three products per layer (forward, weight gradient, input gradient); a sparse first layer
    // does two passes over its stored values
    double macs = 0.0;
    for (index_t l = 0; l < spec_.n_layers(); ++l) {
        const double fan_in = l == 0 && X.is_sparse()
                                  ? double(X.indptr[X.rows]) / double(std::max<index_t>(X.rows, 1))
                                  : double(spec_.units[l]);
        macs += (l == 0 && X.is_sparse() ? 2.0 : 3.0) * double(B) * fan_in * double(spec_.units[l + 1]);
    }
    const int nr = gemm_kernel<T>(active_kernels()).nr;
    return macs >= kStepTeamMinMacs * std::max(1.0, double(nr) / kStepTeamMinMacsTileWidth);
}

template <class T>
void Trainer<T>::batch_pass(T* grad, const T* params, const InputMatrix<T>& X, const Targets<T>& Y,
                            const T* sample_weight, const std::int64_t* rows, index_t B,
                            bool accumulate, const double* dropout, std::uint64_t dropout_seed,
                            std::int64_t batch) {
    const NetSpec& s = spec_;
    // what hidden layer l hands to the next: its output, or with dropout the dropped-out copy
    const auto hidden_out = [&](index_t l) {
        return drops(dropout, l) ? dropped_[l].data() : acts_[l].data();
    };
    const index_t L = s.n_layers(), C0 = s.n_inputs(), K = s.n_outputs();
    const T slope = T(s.negative_slope);

    // gather the batch: rows of X (dense only; CSR is read in place), Y and the weights, in
    // plain loops (rows are often a few dozen bytes, too short for a memmove call to pay).
    // Shuffled rows of a large X come from memory: the rows a few ahead are asked for while
    // this one is copied, so their latency overlaps (the copy waited on each row in turn).
    if (!X.is_sparse()) {
        constexpr index_t kAhead = 8;
        constexpr index_t kLine = 64 / sizeof(T);
#pragma omp for schedule(static) nowait
        for (index_t i = 0; i < B; ++i) {
            if (i + kAhead < B) {
                const T* next = X.dense + rows[i + kAhead] * C0;
                for (index_t j = 0; j < C0; j += kLine) __builtin_prefetch(next + j);
            }
            const T* src = X.dense + rows[i] * C0;
            T* dst = input_.data() + i * C0;
            for (index_t j = 0; j < C0; ++j) dst[j] = src[j];
        }
    }
    if (Y.labels) {
#pragma omp for schedule(static) nowait
        for (index_t i = 0; i < B; ++i) labels_[i] = Y.labels[rows[i]];
    } else {
#pragma omp for schedule(static) nowait
        for (index_t i = 0; i < B; ++i) {
            const T* src = Y.dense + rows[i] * K;
            T* dst = targets_.data() + i * K;
            for (index_t k = 0; k < K; ++k) dst[k] = src[k];
        }
    }
    if (sample_weight) {
#pragma omp for schedule(static) nowait
        for (index_t i = 0; i < B; ++i) weights_[i] = sample_weight[rows[i]];
    }
    const T* w = sample_weight ? weights_.data() : nullptr;
#pragma omp barrier

    // forward
    for (index_t l = 0; l < L; ++l) {
        const T* W = params + s.coef_offset(l);
        const T* b = params + s.bias_offset(l);
        T* out = acts_[l].data();
        const Activation act = s.activation(l);  // the last layer's output map: below
        T* pre = pres_[l].empty() ? nullptr : pres_[l].data();
        if (l == 0 && X.is_sparse()) {
            linear_forward_csr(out, X, rows, W, b, B, C0, s.units[1]);
            activation_forward(act, out, B * s.units[1], pre, slope);
        } else {
            linear_forward(out, l == 0 ? input_.data() : hidden_out(l - 1), W, b, B, s.units[l],
                           s.units[l + 1], act, gemm_ws_, pre, slope);
        }
        if (l + 1 < L && drops(dropout, l))
            dropout_forward(dropped_[l].data(), masks_[l].data(), out, B, s.units[l + 1], dropout[l],
                            dropout_key(dropout_seed, batch, l));
    }

    // output map, loss and the output delta p - y in one pass per row
    output_loss_forward_backward(s.output, deltas_[L - 1].data(), row_loss_.data(),
                                 acts_[L - 1].data(), Y.labels ? nullptr : targets_.data(),
                                 Y.labels ? labels_.data() : nullptr, w, s.loss, B, K);
    // no barrier after it: the sums are read after the step's backward pass, whose products end
    // in barriers (and the row losses were complete at the end of the loss's loop)
#pragma omp single nowait
    {
        double loss = 0.0, weight_sum = 0.0;  // summed in row order: the same bits for any thread count
        for (index_t i = 0; i < B; ++i) loss += w ? double(w[i]) * row_loss_[i] : row_loss_[i];
        if (w) {
            for (index_t i = 0; i < B; ++i) weight_sum += double(w[i]);
        } else {
            weight_sum = double(B);
        }
        batch_loss_ += loss;
        batch_weight_sum_ += weight_sum;
    }

    // backward
    for (index_t l = L - 1; l >= 0; --l) {
        T* dW = grad + s.coef_offset(l);
        T* db = grad + s.bias_offset(l);
        const T* dout = deltas_[l].data();
        if (l == 0 && X.is_sparse()) {
            linear_backward_csr(dW, db, dout, X, rows, B, C0, s.units[1], accumulate);
            continue;
        }
        const T* inp = l == 0 ? input_.data() : hidden_out(l - 1);
        T* dinp = l == 0 ? nullptr : deltas_[l - 1].data();
        const Activation inp_act = l == 0 ? Activation::identity : s.activation(l - 1);
        const T* inp_pre = l == 0 || pres_[l - 1].empty() ? nullptr : pres_[l - 1].data();
        // through a dropout the derivative comes after the mask, from the un-dropped output
        const bool dropped = l > 0 && drops(dropout, l - 1);
        linear_backward(dinp, dW, db, dout, inp, params + s.coef_offset(l), B, s.units[l],
                        s.units[l + 1], dropped ? Activation::identity : inp_act, accumulate,
                        gemm_ws_, dropped ? nullptr : inp_pre, slope);
        if (dropped) {
            dropout_backward(dinp, masks_[l - 1].data(), B * s.units[l]);
            activation_backward(inp_act, dinp, acts_[l - 1].data(), B * s.units[l], inp_pre, slope);
        }
    }
}

template <class T>
void Trainer<T>::l2_term(const T* params, double alpha, double weight_sum) {
    if (alpha == 0.0) {
#pragma omp single nowait
        l2_ = 0.0;
        return;
    }
    const double squares = sum_of_squares(square_sums_.data(), params, spec_.n_coefs());
#pragma omp single nowait
    l2_ = 0.5 * alpha * squares / weight_sum;
}

template <class T>
void Trainer<T>::clip_gradient(T* grad, const T* params, double alpha, double weight_sum,
                               double max_norm) {
    // grad and params are (n_params), in the arena layout; grad holds the raw sums
    const index_t n_coefs = spec_.n_coefs(), n = spec_.n_params();
    const T a = T(alpha), scale = T(weight_sum);
#pragma omp for schedule(static) nowait
    for (index_t i = 0; i < n_coefs; ++i) grad[i] = finished_gradient<true>(grad[i], params[i], a, scale);
#pragma omp for schedule(static)
    for (index_t i = n_coefs; i < n; ++i) grad[i] = finished_gradient<false>(grad[i], params[i], a, scale);
    const double norm = std::sqrt(sum_of_squares(square_sums_.data(), grad, n));
    const T c = T(std::min(1.0, max_norm / (norm + 1e-6)));
#pragma omp for schedule(static)
    for (index_t i = 0; i < n; ++i) grad[i] *= c;
}

namespace {

// The active ISA's step kernel over the arenas (n), with `weights` on the first n_coefs entries
// and `biases` on the rest, in fixed chunks shared out among the team (each element's step is
// independent: any split gives the same bits). One loop over both parts, in chunks small enough
// that a small model's are shared too (4096 per part had one thread step a 2201-parameter model
// while the other waited). Team code with no barrier at the end.
template <class T>
void step_arenas(T* params, T* state_1, T* state_2, const T* grad, index_t n, index_t n_coefs,
                 const OptimizerStep<T>& weights, const OptimizerStep<T>& biases) {
    constexpr index_t kChunk = 512;
    const StepKernel<T> kernel = gemm_kernel<T>(active_kernels()).step;
    const auto run = [&](index_t begin, index_t end, const OptimizerStep<T>& step) {
        if (end > begin)
            kernel(params + begin, state_1 + begin, state_2 ? state_2 + begin : nullptr,
                   grad + begin, end - begin, step);
    };
    const index_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp for schedule(static) nowait
    for (index_t c = 0; c < chunks; ++c) {
        const index_t begin = c * kChunk, end = std::min(n, begin + kChunk);
        const index_t split = std::min(std::max(n_coefs, begin), end);
        run(begin, split, weights);
        run(split, end, biases);
    }
}

}  // namespace

template <class T>
void optimizer_update(T* params, const OptimizerState<T>& state, const T* grad, index_t n,
                      index_t n_coefs, double weight_sum, const Hyper& h, std::int64_t step) {
    // params, grad and the state arrays are (n), all in the arena layout; grad is the raw sum
    // Xᵀ·delta (and Σ delta), finished here in the same pass as the step
    OptimizerStep<T> s;
    s.alpha = T(h.alpha);
    s.weight_sum = T(weight_sum);
    s.weights = true;
    // the decoupled weight decay shrinks by the schedule's rate, without Adam's bias correction
    s.decay = h.weight_decay > 0.0;
    s.keep = T(1.0 - h.learning_rate * h.weight_decay);
    T* state_1 = state.velocity;
    T* state_2 = nullptr;
    if (h.solver == Solver::sgd) {
        s.momentum = T(h.momentum);
        s.lr = T(h.learning_rate);
        s.nesterov = h.nesterov;
    } else {
        const double t = double(step);
        s.adam = true;
        s.lr = T(h.learning_rate * std::sqrt(1.0 - std::pow(h.beta_2, t)) /
                 (1.0 - std::pow(h.beta_1, t)));
        s.beta_1 = T(h.beta_1);
        s.beta_2 = T(h.beta_2);
        s.one_minus_beta_1 = T(1.0 - h.beta_1);
        s.one_minus_beta_2 = T(1.0 - h.beta_2);
        s.epsilon = T(h.epsilon);
        state_1 = state.m;
        state_2 = state.v;
    }
    OptimizerStep<T> biases = s;
    biases.weights = false;
    biases.decay = false;
    step_arenas(params, state_1, state_2, grad, n, n_coefs, s, biases);
#pragma omp barrier
}

template <class T>
void rprop_update(T* params, T* step, T* prev, const T* grad, index_t n, double eta_minus,
                  double eta_plus, double step_min, double step_max) {
    // params, step, prev and grad are (n), all in the arena layout
    const T em = T(eta_minus), ep = T(eta_plus), lo = T(step_min), hi = T(step_max);
#pragma omp for schedule(static)
    for (index_t i = 0; i < n; ++i) {
        T g = grad[i];
        const T s = g * prev[i];
        const T factor = s > T(0) ? ep : (s < T(0) ? em : T(1));
        step[i] = std::min(std::max(step[i] * factor, lo), hi);
        if (s < T(0)) g = T(0);
        params[i] -= (g > T(0) ? step[i] : (g < T(0) ? -step[i] : T(0)));
        prev[i] = g;
    }
}

template <class T>
EpochResult Trainer<T>::train_epoch(T* params, OptimizerState<T>& state, const InputMatrix<T>& X,
                                    const Targets<T>& Y, const T* sample_weight, const std::int64_t* order,
                                    index_t n, index_t batch_size, const Hyper& hyper,
                                    int n_threads, const std::function<bool()>& should_stop) {
    if (batch_size <= 0 || batch_size > max_rows_)
        throw std::invalid_argument("batch_size must be in [1, max_rows]");
    prepare(X);
    if (hyper.dropout) prepare_dropout(hyper.dropout);
    Hyper clipped = hyper;  // with clipping the optimizer reads the finished, clipped gradient
    clipped.alpha = 0.0;
    // one parallel region per step: forward, loss, backward and the optimizer share one team
    const bool parallel = step_is_parallel(X, std::min(batch_size, n), n_threads);
    EpochResult result;
    double accumulated = 0.0;
    for (index_t start = 0; start < n; start += batch_size) {
        if (should_stop && should_stop()) {
            result.interrupted = true;
            return result;
        }
        const index_t B = std::min(batch_size, n - start);
        const std::int64_t step = state.t + 1;
        batch_loss_ = batch_weight_sum_ = 0.0;
        run_in_team(n_threads, parallel, [&] {
            batch_pass(grad_.data(), params, X, Y, sample_weight, order + start, B, false,
                       hyper.dropout, hyper.dropout_seed, start / batch_size);
            // a batch whose weights are all zero carries no information: skip its step
            if (batch_weight_sum_ > 0.0) {
                l2_term(params, hyper.alpha, batch_weight_sum_);
                if (hyper.max_grad_norm > 0.0) {
                    clip_gradient(grad_.data(), params, hyper.alpha, batch_weight_sum_,
                                  hyper.max_grad_norm);
                    optimizer_update(params, state, grad_.data(), spec_.n_params(),
                                     spec_.n_coefs(), 1.0, clipped, step);
                } else {
                    optimizer_update(params, state, grad_.data(), spec_.n_params(),
                                     spec_.n_coefs(), batch_weight_sum_, hyper, step);
                }
            }
        });
        if (batch_weight_sum_ > 0.0) {
            accumulated += (batch_loss_ / batch_weight_sum_ + l2_) * double(B);
            if (hyper.solver == Solver::adam) state.t = step;
        }
    }
    result.loss = accumulated / double(n);
    return result;
}

template <class T>
EpochResult Trainer<T>::loss_and_grad(T* grad, const T* params, const InputMatrix<T>& X,
                                      const Targets<T>& Y, const T* sample_weight, double alpha,
                                      int n_threads, const std::function<bool()>& should_stop) {
    const index_t n = X.rows, n_coefs = spec_.n_coefs(), n_params = spec_.n_params();
    prepare(X);
    const bool parallel = step_is_parallel(X, std::min(n, max_rows_), n_threads);
    EpochResult result;
    batch_loss_ = batch_weight_sum_ = 0.0;
    for (index_t start = 0; start < n; start += max_rows_) {
        if (should_stop && should_stop()) {
            result.interrupted = true;
            return result;
        }
        const index_t B = std::min(max_rows_, n - start);
        run_in_team(n_threads, parallel, [&] {
#pragma omp for schedule(static)
            for (index_t i = 0; i < B; ++i) block_rows_[i] = start + i;
            batch_pass(grad, params, X, Y, sample_weight, block_rows_.data(), B, start > 0);
        });
    }
    run_in_team(n_threads, parallel, [&] {
        // grad = (grad + alpha·W) / Σw on the weights, grad / Σw on the biases
        const T a = T(alpha), scale = T(batch_weight_sum_);
#pragma omp for schedule(static) nowait
        for (index_t i = 0; i < n_coefs; ++i)
            grad[i] = finished_gradient<true>(grad[i], params[i], a, scale);
#pragma omp for schedule(static) nowait
        for (index_t i = n_coefs; i < n_params; ++i)
            grad[i] = finished_gradient<false>(grad[i], params[i], a, scale);
        l2_term(params, alpha, batch_weight_sum_);
    });
    result.loss = batch_loss_ / batch_weight_sum_ + l2_;
    return result;
}

namespace {

// The first `stop` weight layers of the network for every row of X, in row blocks: out(N,
// units[stop]) holds layer stop-1's activations, or, when stop is n_layers, the network's output.
template <class T>
void forward_through(T* out, const NetSpec& s, const T* params, const InputMatrix<T>& X,
                     index_t stop, int n_threads) {
    // X is (N, units[0]); out is (N, units[stop])
    const index_t N = X.rows, L = s.n_layers(), K = s.units[stop];
    const index_t block = std::min(N, kForwardBlockRows);
    if (block == 0) return;
    const T slope = T(s.negative_slope);
    require_allocatable(checked_mul(2, checked_mul(block, s.widest())), sizeof(T));
    // left uninitialised: every layer writes its block before the next reads it (zeroing the
    // two buffers cost a pass over 8 MB per call of a 784→256→… net)
    const index_t buffer_size = checked_mul(block, s.widest());
    std::unique_ptr<T[]> ping(new T[buffer_size]), pong(new T[buffer_size]);
    std::vector<std::int64_t> rows(X.is_sparse() ? block : 0);
    // the calling thread's, reused so that predicting one row allocates nothing; named through a
    // local reference so that the team's threads share the caller's (inside the lambda, the
    // static's own name would mean each thread's own)
    static thread_local GemmWorkspace<T> callers_ws;
    GemmWorkspace<T>& ws = callers_ws;
    ws.prepare(gemm_kernel<T>(active_kernels()),
               std::max({block, s.widest(), X.is_sparse() ? index_t(0) : s.n_inputs()}));
    double macs = 0.0;
    for (index_t l = 0; l < stop; ++l) macs += double(block) * double(s.units[l]) * double(s.units[l + 1]);
    const bool warm_team = macs >= kWarmForwardMinMacs && !threads_sleep_when_idle() &&
                           std::chrono::steady_clock::now() - last_forward_end < kWarmForwardGap;
    run_in_team(n_threads, macs >= double(kTeamMinMacs) || warm_team, [&] {
        for (index_t start = 0; start < N; start += block) {
            const index_t B = std::min(block, N - start);
            const T* inp = nullptr;
            for (index_t l = 0; l < stop; ++l) {
                T* dst = l + 1 == stop ? out + start * K : (l % 2 == 0 ? ping.get() : pong.get());
                const T* W = params + s.coef_offset(l);
                const T* b = params + s.bias_offset(l);
                const Activation act = s.activation(l);
                if (l == 0 && X.is_sparse()) {
#pragma omp for schedule(static)
                    for (index_t i = 0; i < B; ++i) rows[i] = start + i;
                    linear_forward_csr(dst, X, rows.data(), W, b, B, s.units[0], s.units[1]);
                    activation_forward(act, dst, B * s.units[1], static_cast<T*>(nullptr), slope);
                } else {
                    const T* src = l == 0 ? X.dense + start * s.units[0] : inp;
                    linear_forward(dst, src, W, b, B, s.units[l], s.units[l + 1], act, ws,
                                   static_cast<T*>(nullptr), slope);
                }
                inp = dst;
            }
            if (stop == L) output_forward(s.output, out + start * K, B, K);
        }
    });
    last_forward_end = std::chrono::steady_clock::now();
}

}  // namespace

template <class T>
void network_forward(T* out, const NetSpec& s, const T* params, const InputMatrix<T>& X,
                     int n_threads) {
    // X is (N, units[0]); out is (N, K)
    forward_through(out, s, params, X, s.n_layers(), n_threads);
}

template <class T>
void network_transform(T* out, const NetSpec& s, const T* params, const InputMatrix<T>& X,
                       index_t layer, int n_threads) {
    // X is (N, units[0]); out is (N, units[layer + 1])
    if (layer < 0 || layer + 1 >= s.n_layers()) throw std::invalid_argument("no such hidden layer");
    forward_through(out, s, params, X, layer + 1, n_threads);
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
    // through run_in_team: a small X (one row) is scanned without any parallel region, whose
    // set-up cost a futex call per prediction even when inactive
    run_in_team(n_threads, n >= kTeamMinMacs, [&] {
#pragma omp for schedule(static) reduction(| : bad)
        for (index_t i = 0; i < n; ++i) {
            Bits b;
            std::memcpy(&b, p + i, sizeof b);
            bad |= Bits((b & exponent) == exponent);
        }
    });
    return bad == 0;
}

template class Trainer<float>;
template class Trainer<double>;
template void network_forward<float>(float*, const NetSpec&, const float*, const InputMatrix<float>&, int);
template void network_forward<double>(double*, const NetSpec&, const double*, const InputMatrix<double>&, int);
template void network_transform<float>(float*, const NetSpec&, const float*, const InputMatrix<float>&, index_t, int);
template void network_transform<double>(double*, const NetSpec&, const double*, const InputMatrix<double>&, index_t, int);
template bool all_finite<float>(const InputMatrix<float>&, int);
template bool all_finite<double>(const InputMatrix<double>&, int);
template void optimizer_update<float>(float*, const OptimizerState<float>&, const float*, index_t, index_t, double, const Hyper&, std::int64_t);
template void optimizer_update<double>(double*, const OptimizerState<double>&, const double*, index_t, index_t, double, const Hyper&, std::int64_t);
template void rprop_update<float>(float*, float*, float*, const float*, index_t, double, double, double, double);
template void rprop_update<double>(double*, double*, double*, const double*, index_t, double, double, double, double);

}  // namespace fastmlp
