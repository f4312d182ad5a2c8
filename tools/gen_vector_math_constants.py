"""Writes cpp/kernels/vector_math_constants.h: the constants of cpp/kernels/vector_math.h,
computed here in 60-digit arithmetic (mpmath) and rounded once to each precision.

    python tools/gen_vector_math_constants.py > cpp/kernels/vector_math_constants.h

* ln 2 split for Cody-Waite range reduction: LN2_HI keeps few enough significant bits that
  n·LN2_HI is exact for every n the exponential reaches (|n| < 2^8 in float, < 2^11 in double);
  LN2_LO = ln 2 − LN2_HI rounded.
* Taylor coefficients 1/k! (exp, expm1) and 2/(2k+1) (log via atanh).
* erfcx(a) = e^(a²)·erfc(a) on [0, 4] (float) or [0, 6] (double), past which half of erfc is
  below half an ulp of 1, as a Chebyshev interpolant in t = 2a/end − 1, degree 16 in float and
  34 in double, written as four sums of a quarter of the length (see chebyshev_halves and
  chebyshev_quarters) so that vector_math.h runs four short recurrences side by side instead of
  one long one; the script prints the largest relative error it measures on 4001 points against
  mpmath, evaluated as vector_math.h does.
"""

import mpmath

mpmath.mp.dps = 60
ERFCX_END = {"float": 4, "double": 6}
DEGREE = {"float": 16, "double": 34}
SIGNIFICANT = {"float": 24, "double": 53}
N_BITS = {"float": 8, "double": 11}


def rounded_value(x, kind):
    """x rounded to the nearest float (as a numpy float32) or double."""
    import numpy as np
    if kind == "float":
        v = np.float32(float(x))  # float(x) is correctly rounded; a second rounding to float32
        # could double-round, so correct it against the exact value
        cands = [v, np.nextafter(v, np.float32(np.inf)), np.nextafter(v, np.float32(-np.inf))]
        return min(cands, key=lambda c: abs(mpmath.mpf(float(c)) - x))
    return float(x)


def rounded(x, kind):
    """x rounded to nearest float or double, printed so that C++ reads it back exactly."""
    v = rounded_value(x, kind)
    return f"{float(v)!r}f" if kind == "float" else repr(v)


def truncated_ln2(kind):
    bits = SIGNIFICANT[kind] - N_BITS[kind]
    e = mpmath.floor(mpmath.log(mpmath.ln2, 2))
    scale = mpmath.mpf(2) ** (bits - 1 - e)
    return mpmath.floor(mpmath.ln2 * scale) / scale


def chebyshev_interpolant(f, lo, hi, degree):
    n = degree + 1
    nodes = [mpmath.cos(mpmath.pi * (k + mpmath.mpf(1) / 2) / n) for k in range(n)]
    values = [f((hi - lo) / mpmath.mpf(2) * t + (hi + lo) / mpmath.mpf(2)) for t in nodes]
    coefs = []
    for j in range(n):
        s = mpmath.fsum(values[k] * mpmath.cos(j * mpmath.pi * (k + mpmath.mpf(1) / 2) / n) for k in range(n))
        coefs.append(s * 2 / n)
    coefs[0] /= 2
    return coefs


def chebyshev_halves(coefs, m=None):
    """Σ c_k·T_k = L + T_m·H with m = ⌈n/2⌉ unless given (n ≤ 2m), L of m terms and H of n − m: for j ≥ 1,
    T_(m+j) = 2·T_m·T_j − T_(m−j), so c_(m+j) moves to H as 2·c_(m+j) and is taken off L's
    c_(m−j); c_m moves to H's constant term. Exact in 60 digits, rounded once afterwards."""
    n = len(coefs)
    m = (n + 1) // 2 if m is None else m
    assert n <= 2 * m
    low = list(coefs[:m])
    high = [coefs[m]] + [2 * c for c in coefs[m + 1:]]
    for j in range(1, n - m):
        low[m - j] -= coefs[m + j]
    return low, high


def clenshaw(coefs, t, ty):
    """Σ c_k·T_k(t) by Clenshaw's recurrence in the order vector_math.h's chebyshev() rounds."""
    b1 = ty(0)
    b2 = ty(0)
    for ck in reversed(coefs[1:]):
        b1, b2 = (ck - b2) + (t + t) * b1, b1
    return (coefs[0] - b2) + t * b1


def chebyshev_t(m, t, ty):
    """T_m(t) by the ladder of vector_math.h's chebyshev_t()."""
    a, b = t, (t + t) * t - ty(1)
    for bit in bin(m)[3:]:
        if bit == "1":
            a, b = (a + a) * b - t, (b + b) * b - ty(1)
        else:
            a, b = (a + a) * a - ty(1), (a + a) * b - t
    return a


def chebyshev_quarters(coefs):
    """The halves of chebyshev_halves split again at the same q: Σ c_k·T_k =
    (A + T_q·B) + T_m·(C + T_q·D), four sums of at most q = ⌈m/2⌉ terms, m = ⌈n/2⌉."""
    low, high = chebyshev_halves(coefs)
    a, b = chebyshev_halves(low)
    c, d = chebyshev_halves(high, len(a))
    return a, b, c, d


def erfcx_as_evaluated(quarters, a, kind):
    """The interpolant evaluated the way vector_math.h does, in the target precision."""
    import numpy as np
    ty = np.float32 if kind == "float" else np.float64
    qa, qb, qc, qd = ([ty(float(x)) for x in part] for part in quarters)
    a = ty(a)
    t = min(ty(ERFCX_END[kind]), a) * ty(float(erfcx_to_t(kind))) - ty(1)  # as vector_math.h
    m = len(qa) + len(qb)
    t_q = chebyshev_t(len(qa), t, ty)
    t_m = (t_q + t_q) * t_q - ty(1) if m == 2 * len(qa) else chebyshev_t(m, t, ty)
    low = clenshaw(qa, t, ty) + t_q * clenshaw(qb, t, ty)
    high = clenshaw(qc, t, ty) + t_q * clenshaw(qd, t, ty)
    return low + t_m * high


def erfcx_to_t(kind):
    return rounded_value(2 / mpmath.mpf(ERFCX_END[kind]), kind)


def erfcx(a):
    return mpmath.erfc(a) * mpmath.exp(a * a)


def main():
    import numpy as np
    out = ["// Generated by tools/gen_vector_math_constants.py; do not edit.",
           "#pragma once", "", "namespace fastmlp::vector_math_constants {", ""]
    for kind in ("float", "double"):
        hi = truncated_ln2(kind)
        out.append(f"// {kind}")
        out.append(f"template <class T> struct Constants;")if kind == "float" else None
        out.append(f"template <> struct Constants<{kind}> {{")
        out.append(f"    static constexpr {kind} ln2_hi = {rounded(hi, kind)};")
        out.append(f"    static constexpr {kind} ln2_lo = {rounded(mpmath.ln2 - hi, kind)};")
        out.append(f"    static constexpr {kind} ln2 = {rounded(mpmath.ln2, kind)};")
        out.append(f"    static constexpr {kind} log2e = {rounded(1 / mpmath.ln2, kind)};")
        out.append(f"    static constexpr {kind} sqrt2 = {rounded(mpmath.sqrt(2), kind)};")
        mantissa = SIGNIFICANT[kind] - 1
        bias = 127 if kind == "float" else 1023
        out.append(f"    // x + round_magic − round_magic rounds x to an integer (|x| < 2^{mantissa - 1}); the")
        out.append(f"    // low bits of n + pow2_magic hold n + {bias}, 2^n's exponent field")
        out.append(f"    static constexpr {kind} round_magic = {rounded(mpmath.mpf(3) * 2 ** (mantissa - 1), kind)};")
        out.append(f"    static constexpr {kind} pow2_magic = {rounded(mpmath.mpf(3) * 2 ** (mantissa - 1) + bias, kind)};")
        lo, hi = (-104, 89) if kind == "float" else (-746, 710)
        out.append(f"    // exp's argument clamp: e^lo rounds to 0 and e^hi to inf; either half of n stays normal")
        out.append(f"    static constexpr {kind} exp_lo = {rounded(lo, kind)};")
        out.append(f"    static constexpr {kind} exp_hi = {rounded(hi, kind)};")
        sat = 40 if kind == "float" else 350
        out.append(f"    // from here on tanh(softplus(x)) rounds to 1 (and e^(2x) is still finite)")
        out.append(f"    static constexpr {kind} mish_saturation = {rounded(sat, kind)};")
        n_exp = 7 if kind == "float" else 13
        out.append(f"    // 1/k!, k = 0..{n_exp + 2} (exp's series to degree {n_exp}, expm1's to {n_exp + 2})")
        out.append(f"    static constexpr {kind} inv_factorial[{n_exp + 3}] = {{"
                   + ", ".join(rounded(1 / mpmath.factorial(k), kind) for k in range(n_exp + 3)) + "};")
        n_log = 6 if kind == "float" else 12
        out.append(f"    // 2/(2k+1), k = 0..{n_log - 1}: log(m) = 2·atanh(s) = Σ 2s^(2k+1)/(2k+1)")
        out.append(f"    static constexpr {kind} atanh_series[{n_log}] = {{"
                   + ", ".join(rounded(mpmath.mpf(2) / (2 * k + 1), kind) for k in range(n_log)) + "};")
        end = ERFCX_END[kind]
        coefs = chebyshev_interpolant(erfcx, mpmath.mpf(0), mpmath.mpf(end), DEGREE[kind])
        quarters = chebyshev_quarters(coefs)
        worst = 0.0
        for a in np.linspace(0, end, 4001):
            ty = np.float32 if kind == "float" else np.float64
            got = float(erfcx_as_evaluated(quarters, ty(a), kind))
            want = erfcx(mpmath.mpf(float(ty(a))))
            worst = max(worst, float(abs((got - want) / want)))
        out.append(f"    // e^(a²)·erfc(a) on [0, erfcx_end]: a degree-{DEGREE[kind]} Chebyshev interpolant in t = a·erfcx_to_t − 1,")
        q, m = len(quarters[0]), len(quarters[0]) + len(quarters[1])
        out.append(f"    // written as (A + T_{q}·B) + T_{m}·(C + T_{q}·D) with A, B, C, D Chebyshev sums in t;")
        out.append(f"    // largest relative error measured on 4001 points: {worst:.2e}")
        out.append(f"    static constexpr {kind} erfcx_end = {rounded(end, kind)};")
        out.append(f"    static constexpr {kind} erfcx_to_t = {rounded(2 / mpmath.mpf(end), kind)};")
        for name, part in zip("abcd", quarters):
            out.append(f"    static constexpr {kind} erfcx_chebyshev_{name}[{len(part)}] = {{"
                       + ", ".join(rounded(c, kind) for c in part) + "};")
        out.append("};")
        out.append("")
    out.append("}  // namespace fastmlp::vector_math_constants")
    print("\n".join(line for line in out if line is not None))


if __name__ == "__main__":
    main()
