"""scikit-learn's common estimator checks, run on fastmlp's estimators with no exceptions."""

import os
import subprocess
import sys
import textwrap

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastmlp import MLPClassifier, MLPRegressor, _core


# Dropout draws one mask entry per row of a batch: a row given weight 2 is one draw, the same
# row repeated is two, so fitting with sample weights cannot equal fitting on repeated rows.
_DROPOUT_BREAKS_REPETITION = (
    "dropout draws an independent mask for every row: a weighted row and repeated copies of it "
    "see different masks, so sample weights are not repetitions"
)
_CLASS_WEIGHT_REFUSES_MULTILABEL = "class_weight refuses multilabel targets (ValueError, documented)"


def _expected_failed_checks(estimator):
    """Checks that fail by design: sample weights are not repetitions under dropout (above),
    and class weights are refused for multilabel targets (their meaning per label is
    ambiguous; sample_weight says it instead), which the multilabel checks fit."""
    expected = {}
    if estimator.get_params().get("dropout", 0.0) != 0.0:
        expected.update(dict.fromkeys(
            ("check_sample_weight_equivalence_on_dense_data",
             "check_sample_weight_equivalence_on_sparse_data"), _DROPOUT_BREAKS_REPETITION))
    if getattr(estimator, "class_weight", None) is not None:
        expected.update(dict.fromkeys(
            ("check_classifiers_multilabel_representation_invariance",
             "check_classifiers_multilabel_output_format_predict",
             "check_classifiers_multilabel_output_format_predict_proba",
             "check_classifiers_multilabel_output_format_decision_function"),
            _CLASS_WEIGHT_REFUSES_MULTILABEL))
    return expected


# max_iter=100 keeps the checks quick; the checks fit tiny data sets, so the
# stochastic solvers routinely stop at max_iter and warn about it.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [
        MLPClassifier(max_iter=100),
        MLPRegressor(max_iter=100),
        # issue 6's parameters at non-default values, several to an estimator (each instance
        # runs every check): per-layer activations and leaky_relu's slope, decoupled weight
        # decay, gradient clipping, learning-rate schedules, init schemes,
        # restore_best_weights, losses and their parameters (validation_data holds data of
        # its own, which the generic checks' data cannot match; early_stopping=True, where
        # restore_best_weights acts, fails the partial_fit checks as scikit-learn's does;
        # gamma and poisson need positive y, which the checks do not give)
        MLPClassifier(max_iter=100, hidden_layer_sizes=(20, 10),
                      activation=["gelu", "leaky_relu"], negative_slope=0.2,
                      weight_decay=1e-3, max_grad_norm=1.0, learning_rate="cosine",
                      lr_warmup_epochs=5, init="he_normal", restore_best_weights=False),
        MLPRegressor(max_iter=100, hidden_layer_sizes=(20, 10), activation=["mish", "selu"],
                     weight_decay=1e-3, max_grad_norm=1.0, learning_rate="step",
                     learning_rate_init=0.01, lr_step_size=20, lr_gamma=0.5,
                     init="orthogonal", loss="huber"),
        MLPClassifier(max_iter=100, dropout=0.2, loss="sparsemax", label_smoothing=0.1,
                      class_weight="balanced"),
        MLPRegressor(max_iter=100, dropout=[0.2], loss="quantile", quantile=0.8),
        # alpha=0.1: with alpha=1e-4 rprop fits check_classifiers_train's separable blobs to
        # logits beyond 37, where the binary predict_proba's 1 - p rounds to 0 and the
        # check's np.log(predict_proba) is -inf while predict_log_proba stays exact (finite)
        MLPClassifier(max_iter=100, solver="rprop", alpha=0.1),
        MLPRegressor(max_iter=100, solver="rprop"),
    ],
    expected_failed_checks=_expected_failed_checks,
)
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
