// A whole MLP: its shape, its parameter arena, and the native training loop.
//
// Arenas (llm.c's layout): parameters live in one flat buffer in scikit-learn's `_pack` order
// (every coefs_[l] row-major, then every intercepts_[l]); gradients and optimizer state use the
// same layout, so the optimizer is one flat loop. Activations and deltas live in a workspace
// sized once for the largest batch.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "ops.h"

namespace fastmlp {

struct NetSpec {
    std::vector<index_t> units;  // n_features, hidden sizes..., n_outputs
    Activation hidden = Activation::relu;
    Output output = Output::softmax_cross_entropy;
    LossParams loss;  // the output loss' parameters, set after construction (defaults: none used)

    NetSpec(std::vector<index_t> units, Activation hidden, Output output);
    index_t n_layers() const { return index_t(units.size()) - 1; }  // weight layers
    index_t n_inputs() const { return units.front(); }
    index_t n_outputs() const { return units.back(); }
    index_t widest() const;
    index_t coef_offset(index_t layer) const { return coef_offsets_[layer]; }
    index_t bias_offset(index_t layer) const { return bias_offsets_[layer]; }
    index_t n_coefs() const { return bias_offsets_.front(); }  // weights, before the biases
    index_t n_params() const { return n_params_; }

  private:
    std::vector<index_t> coef_offsets_, bias_offsets_;
    index_t n_params_ = 0;
};

enum class Solver : int { sgd = 0, adam = 1 };

struct Hyper {
    Solver solver = Solver::adam;
    double alpha = 1e-4;
    double learning_rate = 1e-3;  // the current rate of the schedule (SGD) or learning_rate_init (Adam)
    double momentum = 0.9;
    bool nesterov = true;
    double beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-8;
};

// SGD uses velocity; Adam uses m, v and its step count t. Arrays have n_params elements.
template <class T>
struct OptimizerState {
    T* velocity = nullptr;
    T* m = nullptr;
    T* v = nullptr;
    std::int64_t t = 0;
};

// What the network is trained towards: dense (n_samples, K) targets, or, for softmax, the class
// index of each sample (a one-hot matrix without the matrix).
template <class T>
struct Targets {
    const T* dense = nullptr;
    const std::int32_t* labels = nullptr;
};

// What train_epoch and loss_and_grad return.
struct EpochResult {
    // train_epoch: the mean of the batch losses weighted by batch length, as scikit-learn;
    // loss_and_grad: the objective
    double loss = 0.0;
    // `should_stop` said so between two batches (or row blocks): the weights are consistent,
    // loss_and_grad's gradient is not
    bool interrupted = false;
};

template <class T>
class Trainer {
  public:
    // max_rows: the largest batch (train_epoch) or row block (loss_and_grad) this trainer runs
    Trainer(NetSpec spec, index_t max_rows);

    const NetSpec& spec() const { return spec_; }
    index_t max_rows() const { return max_rows_; }

    // One epoch of mini-batch updates over the rows of X in `order` (n of them).
    // Y holds one target per row of X; sample_weight is (rows of X) or null. should_stop is
    // polled between batches and may be empty.
    EpochResult train_epoch(T* params, OptimizerState<T>& state, const InputMatrix<T>& X,
                            const Targets<T>& Y, const T* sample_weight, const std::int64_t* order,
                            index_t n, index_t batch_size, const Hyper& hyper, int n_threads,
                            const std::function<bool()>& should_stop);

    // Objective and its gradient over every row of X, in row blocks of max_rows (L-BFGS);
    // should_stop is polled between row blocks and may be empty.
    EpochResult loss_and_grad(T* grad, const T* params, const InputMatrix<T>& X,
                              const Targets<T>& Y, const T* sample_weight, double alpha,
                              int n_threads, const std::function<bool()>& should_stop);

  private:
    // The workspace for X: the gathered-input buffer (dense X only: sparse input never needs it,
    // and max_rows × n_features can be gigabytes for wide sparse data) and GEMM pack space for
    // the active kernel. Called before each parallel region, since it may allocate.
    void prepare(const InputMatrix<T>& X);
    // Whether a step over B rows has enough multiply-adds to repay waking a team.
    bool step_is_parallel(const InputMatrix<T>& X, index_t B, int n_threads) const;

    // Team code, like the ops. Forward, loss and backward over X's rows[0..B). Adds the
    // unscaled gradient (Xᵀ·delta and Σ delta, no L2) into grad when accumulate, else
    // overwrites it. Adds Σ_rows w·loss_row to batch_loss_ and Σ w to batch_weight_sum_.
    void batch_pass(T* grad, const T* params, const InputMatrix<T>& X, const Targets<T>& Y,
                    const T* sample_weight, const std::int64_t* rows, index_t B, bool accumulate);
    // Team code: l2_ = 0.5·alpha·‖W‖² / weight_sum, the weights' L2 term of the objective
    void l2_term(const T* params, double alpha, double weight_sum);

    NetSpec spec_;
    index_t max_rows_;
    std::vector<T> input_, targets_, weights_;   // gathered batch: X rows, Y rows, sample weights
    std::vector<std::int32_t> labels_;           // gathered class indices, when Y has them
    std::vector<std::vector<T>> acts_, deltas_;  // per layer output, (max_rows, units[l+1])
    std::vector<double> row_loss_;
    std::vector<T> grad_;
    std::vector<std::int64_t> block_rows_;
    GemmWorkspace<T> gemm_ws_;
    std::vector<double> square_sums_;  // sum_of_squares's per-chunk partial sums
    // results of team code, written by one thread and read by all after a barrier
    double batch_loss_ = 0.0, batch_weight_sum_ = 0.0, l2_ = 0.0;
};

// out(N,K) = the network's output for every row of X, in row blocks so memory stays
// O(block × widest layer).
template <class T>
void network_forward(T* out, const NetSpec& spec, const T* params, const InputMatrix<T>& X,
                     int n_threads);

// True when no value of X (the stored ones, for CSR) is NaN or infinite.
template <class T>
bool all_finite(const InputMatrix<T>& X, int n_threads);

// Team code. One pass over the flat arenas: the gradient finished from the raw sums in grad (L2
// on the first n_coefs entries, the weights; everything divided by weight_sum), then the SGD or
// Adam step; `step` is Adam's step count including this one (the caller stores it in state.t).
template <class T>
void optimizer_update(T* params, const OptimizerState<T>& state, const T* grad, index_t n,
                      index_t n_coefs, double weight_sum, const Hyper& hyper, std::int64_t step);

}  // namespace fastmlp
