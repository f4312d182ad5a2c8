"""scikit-learn's common estimator checks, run on fastmlp's estimators with no exceptions."""

import os
import subprocess
import sys
import textwrap

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastmlp import MLPClassifier, MLPRegressor, _core


# max_iter=100 keeps the checks quick; the checks fit tiny data sets, so the
# stochastic solvers routinely stop at max_iter and warn about it.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    # learning-rate schedules, init schemes, restore_best_weights at non-default values
    # (validation_data holds data of its own, which the generic checks' data cannot match;
    # early_stopping=True, where restore_best_weights acts, fails the partial_fit checks as
    # scikit-learn's does)
    MLPClassifier(max_iter=100, learning_rate="cosine", lr_warmup_epochs=5, init="he_normal",
                  restore_best_weights=False),
    MLPRegressor(max_iter=100, learning_rate="step", learning_rate_init=0.01, lr_step_size=20,
                 lr_gamma=0.5, init="orthogonal"),
])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_array_api_input_check_with_scipy_array_api():
    """check_array_api_input skips itself unless SCIPY_ARRAY_API=1 is set before scipy
    is imported, so run it (as parametrize_with_checks yields it) in a fresh interpreter
    with that variable set, on the kernel set active here."""
    isa = _core.active_isa() if hasattr(_core, "active_isa") else None
    script = textwrap.dedent(f"""
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.utils.estimator_checks import check_array_api_input
        from fastmlp import MLPClassifier, MLPRegressor, _core

        if {isa!r} is not None:
            _core.set_isa({isa!r})
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)):
            check_array_api_input(type(est).__name__, est, array_namespace="numpy",
                                  expect_only_array_outputs=False)
        print("OK")
    """)
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"
