// scikit-learn's gradient from the raw sum Xᵀ·delta (or Σ delta): weights take the L2 term,
// (raw + alpha·w) / Σw; biases raw / Σw. Like epilogue_scalar.h, each translation unit's copy has
// internal linkage in its ISA's namespace (fastmlp::baseline outside the kernel files), so that a
// copy compiled with a kernel file's flags is never the one the baseline code calls.
#pragma once

#ifndef FASTMLP_ISA_NAMESPACE
#define FASTMLP_ISA_NAMESPACE baseline
#endif

namespace fastmlp::FASTMLP_ISA_NAMESPACE {
namespace {

template <bool Weight, class T>
inline T finished_gradient(T raw, T param, T alpha, T weight_sum) {
    return Weight ? (raw + alpha * param) / weight_sum : raw / weight_sum;
}

}  // namespace
}  // namespace fastmlp::FASTMLP_ISA_NAMESPACE

namespace fastmlp {
using namespace FASTMLP_ISA_NAMESPACE;
}  // namespace fastmlp
