"""The optimizer's step kernel of every ISA path against NumPy, to the bit.

Each path compiles the same loops with its own vector width (cpp/kernels/optimizer_step.h);
every operation is an IEEE add, multiply, divide or square root in a fixed order, which NumPy
does element by element in the same precision, so the results are compared exactly. Lengths sit
on the vector edges (1, lanes - 1, lanes + 1, ...) so that tails are covered on every path.
"""

import numpy as np
import pytest

from fastmlp import _core

LENGTHS = [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 4097]


def numpy_step(dtype, params, s1, s2, grad, adam, nesterov, weights, decay, alpha, weight_sum,
               lr, momentum, beta_1, beta_2, epsilon, keep):
    c = lambda x: dtype(x)  # noqa: E731 - the kernel's constants, rounded like T(x)
    p, s1, s2 = params.copy(), s1.copy(), s2.copy()
    g = (grad + c(alpha) * p) / c(weight_sum) if weights else grad / c(weight_sum)
    if adam:
        s1 = c(beta_1) * s1 + c(1.0 - beta_1) * g
        s2 = c(beta_2) * s2 + c(1.0 - beta_2) * (g * g)
        update = (-c(lr) * s1) / (np.sqrt(s2) + c(epsilon))
    else:
        s1 = c(momentum) * s1 - c(lr) * g
        update = c(momentum) * s1 - c(lr) * g if nesterov else s1
    p = p * c(keep) + update if decay else p + update
    return p, s1, s2


RULES = {
    "adam": dict(adam=True, nesterov=False),
    "sgd": dict(adam=False, nesterov=False),
    "nesterov": dict(adam=False, nesterov=True),
}


@pytest.mark.parametrize("isa", _core.available_isas())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("weights,decay", [(True, False), (True, True), (False, False)])
def test_step_has_numpys_bits(isa, dtype, rule, weights, decay):
    rng = np.random.default_rng(len(rule) + 2 * weights + decay)
    args = dict(**RULES[rule], weights=weights, decay=decay, alpha=1e-3, weight_sum=37.0,
                lr=0.01, momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8, keep=0.995)
    for n in LENGTHS:
        params = rng.standard_normal(n).astype(dtype)
        s1 = rng.standard_normal(n).astype(dtype)
        s2 = rng.random(n).astype(dtype)  # Adam's second moment is never negative
        grad = rng.standard_normal(n).astype(dtype) * 10
        got = _core.optimizer_step(isa, params, s1, s2, grad, **args)
        want = numpy_step(dtype, params, s1, s2, grad, **args)
        for name, g, w in zip(("params", "state_1", "state_2"), got, want):
            assert g.dtype == dtype
            np.testing.assert_array_equal(g, w, err_msg=f"{isa} {rule} n={n} {name}")
        assert not np.array_equal(got[0], params)  # the step moved the parameters


def test_optimizer_step_refuses_mismatched_sizes():
    x = np.zeros(4)
    with pytest.raises(ValueError, match="sizes disagree"):
        _core.optimizer_step("portable", x, x, np.zeros(3), x, True, False, True, False,
                             0.0, 1.0, 0.1)
