// The order of an epoch's rows, drawn exactly as scikit-learn draws it.
//
// scikit-learn's MLP shuffles with sklearn.utils.shuffle(sample_idx, random_state), which is
// random_state.shuffle(arange(n)) followed by sample_idx[that order]; numpy's legacy
// RandomState.shuffle is a Fisher-Yates pass from the last element down, each position i
// swapped with j = random_interval(i): the smallest all-ones mask covering i, then 32-bit draws
// (64-bit when i needs them) masked until one is at most i. The draws here come from the very
// bit generator numpy would use, through numpy's documented C interface to it, so the order
// and the generator's state afterwards are numpy's, draw for draw.
#pragma once
#include <cstdint>

namespace fastmlp {

// numpy's bitgen_t (numpy/random/bitgen.h), the C interface that BitGenerator.ctypes.bit_generator
// points at: the generator's state and its draw functions.
struct NumpyBitGenerator {
    void* state;
    std::uint64_t (*next_uint64)(void* state);
    std::uint32_t (*next_uint32)(void* state);
    double (*next_double)(void* state);
    std::uint64_t (*next_raw)(void* state);
};

// out(n) = values(n) in the order RandomState.shuffle(arange(n)) leaves, drawing from bits
// (which advances exactly as numpy's shuffle advances it). order(n) is scratch.
void shuffled_like_numpy(std::int64_t* out, std::int64_t* order, const std::int64_t* values,
                         std::int64_t n, NumpyBitGenerator& bits);

}  // namespace fastmlp
