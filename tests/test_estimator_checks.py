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
    # issue 6 (activations): per-layer lists and leaky_relu's slope
    MLPClassifier(max_iter=100, hidden_layer_sizes=(20, 10), activation=["gelu", "leaky_relu"],
                  negative_slope=0.2),
    MLPRegressor(max_iter=100, hidden_layer_sizes=(20, 10), activation=["mish", "selu"]),
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
