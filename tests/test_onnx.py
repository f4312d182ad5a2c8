"""ONNX export: fastmlp.to_onnx and the converters fastmlp registers with skl2onnx.

Every exported graph is run by onnxruntime and compared with the estimator: labels equal to
predict exactly, probabilities and regression values within 1e-5 (float32 models) or 1e-12
(float64 models) of predict_proba and predict. The export reads fitted attributes only, so
these tests run on one kernel path (tests/conftest.py).
"""

import functools
import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import skl2onnx
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, to_onnx

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ATOL = {np.float32: 1e-5, np.float64: 1e-12}
ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
DEPTHS = ((9,), (9, 8, 7))
N_FEATURES = 5

# target kind -> (estimator class, target from X); labels are functions of X, so the fitted
# models predict several classes and the label map of the graph is exercised
TARGETS = {
    "multiclass-int": (MLPClassifier, lambda X: np.array([-4, 7, 12])[_regions(X, 3)]),
    "multiclass-str": (MLPClassifier, lambda X: np.array(["ant", "bee", "cat"])[_regions(X, 3)]),
    "binary-int": (MLPClassifier, lambda X: np.array([3, 8])[_regions(X, 2)]),
    "binary-str": (MLPClassifier, lambda X: np.array(["no", "yes"])[_regions(X, 2)]),
    "multilabel": (MLPClassifier, lambda X: (X[:, :3] > 0.2).astype(int)),
    "regression-1": (MLPRegressor, lambda X: np.sin(X[:, 0]) + 0.5 * X[:, 1]),
    "regression-2": (MLPRegressor, lambda X: np.column_stack([X[:, 0] * X[:, 1], X[:, 2]])),
    "poisson": (MLPRegressor, lambda X: np.exp(0.3 * X[:, 0])),
}


def _regions(X, k):
    """0..k-1 from X's first features: a learnable class per row."""
    if k == 2:
        return (X[:, 0] + X[:, 1] > 0).astype(int)
    return np.argmax(X[:, :k] + np.array([0.0, 0.1, -0.1])[:k], axis=1)


def _X(n, dtype, seed):
    return np.random.default_rng(seed).normal(size=(n, N_FEATURES)).astype(dtype)


@functools.lru_cache(maxsize=None)
def _fitted(kind, activation, hidden, dtype):
    """A fitted estimator whose weights are then redrawn so that its outputs spread over X
    (several predicted classes), whatever the activation and depth. Cheap: one epoch instead
    of a converged fit; the export reads the fitted attributes whatever produced them."""
    cls, target = TARGETS[kind]
    X = _X(240, dtype, 0)
    params = dict(hidden_layer_sizes=hidden, activation=activation, random_state=0)
    if kind == "poisson":
        params["loss"] = "poisson"
    model = cls(max_iter=1, n_jobs=1, **params).fit(X, target(X.astype(np.float64)))
    return _redraw_weights(model, seed=len(hidden))


_NUMPY_ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
}


def _redraw_weights(model, seed):
    """Random weights scaled on the training X so that every unit's input has mean ~0 and
    std 2 (outputs spread over several classes), std 1 for regression outputs and 0.4 before
    an exponential output (poisson): regression values then stay below ~16, where float32
    resolves the 1e-5 tolerance with a few units in the last place to spare."""
    rng = np.random.default_rng(seed)
    dtype = model.coefs_[0].dtype
    h = _X(240, np.float64, 0)
    coefs, intercepts = [], []
    for i, coef in enumerate(model.coefs_):
        last = i == len(model.coefs_) - 1
        spread = {"exp": 0.4, "identity": 1.0}.get(model.out_activation_, 2.0) if last else 2.0
        w = rng.normal(size=coef.shape)
        w *= spread / (h @ w).std(axis=0)
        b = -(h @ w).mean(axis=0) + rng.normal(scale=0.3, size=coef.shape[1])
        coefs.append(w.astype(dtype))
        intercepts.append(b.astype(dtype))
        h = _NUMPY_ACTIVATIONS[model.activation](h @ w + b)
    model.coefs_, model.intercepts_ = coefs, intercepts
    return model


def _session(onnx_model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(
        onnx_model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _run(onnx_model, X):
    session = _session(onnx_model)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X})))


def _check_classifier_outputs(model, X, label, probabilities, atol):
    expected = model.predict(X)
    assert label.shape == expected.shape
    np.testing.assert_array_equal(label, expected)
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=0, atol=atol)


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("hidden", DEPTHS, ids=["1-hidden", "3-hidden"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", list(TARGETS))
def test_round_trip_matches_predict(kind, activation, hidden, dtype):
    model = _fitted(kind, activation, hidden, dtype)
    onnx_model = to_onnx(model, _X(3, dtype, 1))
    session = _session(onnx_model)
    X_many = _X(2000, dtype, 2)
    classifier = isinstance(model, MLPClassifier)
    if classifier:
        n_distinct = len(np.unique(model.predict(X_many), axis=0))
        assert n_distinct >= 2, "the fitted model predicts one class: the test would be weak"
    for X in (X_many[:1], X_many):
        outputs = session.run(None, {"X": X})
        if classifier:
            _check_classifier_outputs(model, X, *outputs, atol=ATOL[dtype])
        else:
            (variable,) = outputs
            assert variable.shape == (len(X), model.n_outputs_)  # (n, 1) for one output
            assert variable.dtype == dtype
            expected = model.predict(X).reshape(len(X), -1)
            np.testing.assert_allclose(variable, expected, rtol=0, atol=ATOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", ["multiclass-int", "binary-str", "multilabel"])
def test_saturated_outputs_match(kind, activation, dtype):
    # inputs 300x the training scale: the activations far out on their tails (tanh and
    # logistic at exactly ±1 and 0/1, softmax and logistic outputs at 0 and 1 after relu or
    # identity layers), in both implementations
    model = _fitted(kind, activation, (9,), dtype)
    X = _X(500, dtype, 10) * 300
    label, probabilities = _session(to_onnx(model)).run(None, {"X": X})
    first_layer_input = X @ model.coefs_[0] + model.intercepts_[0]
    assert (np.abs(first_layer_input) > 40).mean() > 0.5
    _check_classifier_outputs(model, X, label, probabilities, ATOL[dtype])


@pytest.mark.parametrize("kind", ["multiclass-int", "binary-str", "multilabel", "regression-1"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_graph_inputs_outputs_and_layers(kind, dtype):
    model = _fitted(kind, "relu", (9, 8, 7), dtype)
    onnx_model = to_onnx(model)
    graph = onnx_model.graph
    elem = onnx.TensorProto.FLOAT if dtype == np.float32 else onnx.TensorProto.DOUBLE

    (x,) = graph.input
    assert x.name == "X"
    assert x.type.tensor_type.elem_type == elem
    batch, width = x.type.tensor_type.shape.dim
    assert batch.dim_param and not batch.HasField("dim_value")  # dynamic batch
    assert width.dim_value == N_FEATURES

    assert [n.op_type for n in graph.node].count("MatMul") == 4
    assert [n.op_type for n in graph.node].count("Relu") == 3
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    for i, coef in enumerate(model.coefs_):
        assert weights[f"coef_{i}"].dtype == dtype
        np.testing.assert_array_equal(weights[f"coef_{i}"], coef)

    types = {o.name: o.type.tensor_type.elem_type for o in graph.output}
    if kind == "regression-1":
        assert types == {"variable": elem}
    elif kind == "binary-str":
        assert types == {"label": onnx.TensorProto.STRING, "probabilities": elem}
    else:
        assert types == {"label": onnx.TensorProto.INT64, "probabilities": elem}
    assert onnx_model.opset_import[0].version == min(22, onnx.defs.onnx_opset_version())


def test_multilabel_outputs_are_matrices():
    model = _fitted("multilabel", "tanh", (9,), np.float32)
    X = _X(50, np.float32, 3)
    out = _run(to_onnx(model), X)
    assert out["label"].shape == (50, 3) and out["label"].dtype == np.int64
    assert out["probabilities"].shape == (50, 3)
    assert set(np.unique(out["label"])) == {0, 1}


@pytest.mark.parametrize(
    "labels, label_dtype",
    [
        (np.array([False, True]), np.int64),
        (np.array([0.0, 2.0, 5.0]), np.int64),
        (np.array([1, 3, 6], dtype=np.uint8), np.int64),
        (np.array(["é", "ü", "ß"], dtype=object), object),
    ],
    ids=["bool", "integral-float", "uint8", "unicode-object"],
)
def test_other_label_types(labels, label_dtype):
    X = _X(240, np.float32, 0)
    y = labels[_regions(X, len(labels))]
    model = MLPClassifier(hidden_layer_sizes=(9,), max_iter=1, n_jobs=1, random_state=0)
    model = _redraw_weights(model.fit(X, y), seed=0)
    out = _run(to_onnx(model), X)
    assert out["label"].dtype == label_dtype
    assert len(np.unique(model.predict(X))) >= 2
    _check_classifier_outputs(model, X, out["label"], out["probabilities"], ATOL[np.float32])


def test_non_integral_float_labels_refused():
    # fit refuses such targets (continuous); a model whose classes_ were set by hand must not
    # have its labels truncated to integers
    model = clone_fitted = _fitted("binary-int", "relu", (9,), np.float64)
    model = pickle.loads(pickle.dumps(clone_fitted))
    model.classes_ = np.array([0.5, 1.5])
    with pytest.raises(ValueError, match="non-integral floats"):
        to_onnx(model)


# ----------------------------------------------------------------------- opsets and checks
@pytest.mark.parametrize("opset", [13, 17, onnx.defs.onnx_opset_version()])
def test_target_opset(opset):
    model = _fitted("binary-str", "logistic", (9,), np.float32)
    onnx_model = to_onnx(model, target_opset=opset)
    assert [(o.domain, o.version) for o in onnx_model.opset_import] == [("", opset)]
    X = _X(100, np.float32, 4)
    out = _run(onnx_model, X)
    _check_classifier_outputs(model, X, out["label"], out["probabilities"], ATOL[np.float32])


@pytest.mark.parametrize("opset", [12, onnx.defs.onnx_opset_version() + 1])
def test_target_opset_out_of_range(opset):
    with pytest.raises(ValueError, match="target_opset must be between 13 and"):
        to_onnx(_fitted("regression-1", "relu", (9,), np.float32), target_opset=opset)


def test_target_opset_type():
    with pytest.raises(TypeError, match="target_opset"):
        to_onnx(_fitted("regression-1", "relu", (9,), np.float32), target_opset="17")


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_unfitted_model_refused(cls):
    with pytest.raises(NotFittedError):
        to_onnx(cls())
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(cls(), _X(1, np.float32, 0))


def test_other_estimators_refused():
    X = _X(40, np.float64, 0)
    sk = SklearnMLPClassifier(hidden_layer_sizes=(3,), max_iter=5).fit(X, _regions(X, 2))
    with pytest.raises(TypeError, match="exports fastmlp.MLPClassifier"):
        to_onnx(sk)


def test_X_sample_checks():
    model = _fitted("multiclass-int", "relu", (9,), np.float32)
    with pytest.raises(ValueError, match="X_sample has 4 features, but MLPClassifier is expecting"):
        to_onnx(model, _X(2, np.float32, 0)[:, :4])
    with pytest.raises(ValueError, match="must be 2-D"):
        to_onnx(model, _X(2, np.float32, 0)[0])
    with pytest.raises(ValueError, match="X_sample has dtype float64, but the graph's input is"):
        to_onnx(model, _X(2, np.float64, 0))
    # a DataFrame of the right width and dtype is fine, and only read
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(_X(2, np.float32, 0))
    before = frame.copy()
    assert to_onnx(model, frame).graph.input[0].name == "X"
    pd.testing.assert_frame_equal(frame, before)


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(ImportError, match=r'pip install "fastmlp\[onnx\]"'):
        to_onnx(_fitted("regression-1", "relu", (9,), np.float32))


# ------------------------------------------------------------------- skl2onnx registration
def _zipmap_probabilities(model, maps):
    return np.array([[row[c] for c in model.classes_] for row in maps])


@pytest.mark.parametrize("kind", ["multiclass-str", "binary-int", "multilabel"])
def test_skl2onnx_default_zipmap(kind):
    model = _fitted(kind, "tanh", (9, 8, 7), np.float32)
    X = _X(200, np.float32, 5)
    out = _run(skl2onnx.to_onnx(model, X[:1]), X)
    assert list(out) == ["output_label", "output_probability"]
    assert isinstance(out["output_probability"], list) and len(out["output_probability"]) == 200
    _check_classifier_outputs(
        model, X, out["output_label"], _zipmap_probabilities(model, out["output_probability"]),
        ATOL[np.float32],
    )


def test_skl2onnx_zipmap_of_a_float64_model_holds_float32():
    # ZipMap takes float tensors only: the map holds the double probabilities rounded to
    # float32 (within a float32 rounding, 2**-24 relative); the label comes from the doubles
    model = _fitted("multiclass-int", "logistic", (9,), np.float64)
    X = _X(200, np.float64, 5)
    out = _run(skl2onnx.to_onnx(model, X[:1]), X)
    np.testing.assert_array_equal(out["output_label"], model.predict(X))
    got = _zipmap_probabilities(model, out["output_probability"])
    np.testing.assert_allclose(got, model.predict_proba(X), rtol=2**-24, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("kind", ["multiclass-int", "binary-str", "multilabel"])
def test_skl2onnx_without_zipmap(kind, dtype):
    model = _fitted(kind, "relu", (9, 8, 7), dtype)
    X = _X(200, dtype, 5)
    onnx_model = skl2onnx.to_onnx(model, X[:1], options={id(model): {"zipmap": False}})
    out = _run(onnx_model, X)
    assert list(out) == ["label", "probabilities"]
    assert out["probabilities"].dtype == dtype
    _check_classifier_outputs(model, X, out["label"], out["probabilities"], ATOL[dtype])


def test_skl2onnx_zipmap_columns_and_nocl():
    model = _fitted("multiclass-str", "identity", (9,), np.float64)
    X = _X(100, np.float64, 6)
    out = _run(skl2onnx.to_onnx(model, X[:1], options={id(model): {"zipmap": "columns"}}), X)
    assert list(out) == ["output_label", "sant", "sbee", "scat"]
    np.testing.assert_array_equal(out["output_label"], model.predict(X))
    columns = np.column_stack([out["sant"], out["sbee"], out["scat"]])
    np.testing.assert_allclose(columns, model.predict_proba(X), rtol=0, atol=ATOL[np.float64])

    options = {MLPClassifier: {"zipmap": False, "nocl": True}}
    out = _run(skl2onnx.to_onnx(model, X[:1], options=options), X)
    assert out["label"].dtype == np.int64
    np.testing.assert_array_equal(model.classes_[out["label"]], model.predict(X))


@pytest.mark.parametrize("kind", ["regression-1", "regression-2"])
def test_skl2onnx_regressor_and_convert_sklearn(kind):
    model = _fitted(kind, "logistic", (9, 8, 7), np.float64)
    X = _X(150, np.float64, 7)
    onnx_model = skl2onnx.convert_sklearn(
        model, initial_types=[("features", DoubleTensorType([None, N_FEATURES]))]
    )
    (variable,) = _run(onnx_model, X).values()
    assert variable.shape == (150, model.n_outputs_)
    np.testing.assert_allclose(
        variable, model.predict(X).reshape(150, -1), rtol=0, atol=ATOL[np.float64]
    )


def test_skl2onnx_casts_another_input_type_to_the_model_dtype():
    # a float64 model given a float input: the graph casts X up and computes in double;
    # the outputs follow the input type (skl2onnx's convention)
    model = _fitted("multiclass-int", "tanh", (9,), np.float64)
    X = _X(150, np.float32, 8)
    onnx_model = skl2onnx.convert_sklearn(
        model,
        initial_types=[("X", FloatTensorType([None, N_FEATURES]))],
        options={id(model): {"zipmap": False}},
    )
    out = _run(onnx_model, X)
    assert out["probabilities"].dtype == np.float32
    np.testing.assert_array_equal(out["label"], model.predict(X.astype(np.float64)))
    np.testing.assert_allclose(
        out["probabilities"], model.predict_proba(X.astype(np.float64)), rtol=2**-24, atol=0
    )


def test_skl2onnx_pipeline():
    X = _X(240, np.float64, 0) * 3 + 1
    y = np.array(["ant", "bee", "cat"])[_regions(X - 1, 3)]
    pipe = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(9, 8), max_iter=50, n_jobs=1, random_state=0),
    ).fit(X, y)
    onnx_model = skl2onnx.to_onnx(pipe, X[:1], options={MLPClassifier: {"zipmap": False}})
    out = _run(onnx_model, X)
    np.testing.assert_array_equal(out["label"], pipe.predict(X))
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X), rtol=0, atol=1e-12)


def test_skl2onnx_target_opset_and_checks():
    model = _fitted("binary-int", "relu", (9,), np.float32)
    X = _X(100, np.float32, 9)
    onnx_model = skl2onnx.to_onnx(
        model, X[:1], target_opset=13, options={id(model): {"zipmap": False}}
    )
    assert {o.domain: o.version for o in onnx_model.opset_import}[""] == 13
    out = _run(onnx_model, X)
    _check_classifier_outputs(model, X, out["label"], out["probabilities"], ATOL[np.float32])
    with pytest.raises(ValueError, match="need opset 13 or newer"):
        skl2onnx.to_onnx(model, X[:1], target_opset=12, options={id(model): {"zipmap": False}})
    with pytest.raises(ValueError, match="input has 4 features"):
        skl2onnx.convert_sklearn(model, initial_types=[("X", FloatTensorType([None, 4]))])


# ------------------------------------------------------------ import order, in subprocesses
_FIT = """
import numpy as np
X = np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
model = fastmlp.MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, n_jobs=1,
                              random_state=0).fit(X, np.where(X[:, 0] > 0, "p", "n"))

def converts():
    # skl2onnx converts only registered models; the graph is fastmlp's (its initializers)
    onnx_model = skl2onnx.to_onnx(model, X[:1])
    names = {t.name for t in onnx_model.graph.initializer}
    return {"coef_0", "coef_1", "intercept_0", "intercept_1", "classes"} <= names
"""

_FASTMLP_FIRST = """
import importlib, importlib.machinery, json, sys, warnings
warnings.simplefilter("ignore")
import fastmlp
report = {"loaded_at_import": sorted(m for m in ("onnx", "skl2onnx") if m in sys.modules)}
FIT

# skl2onnx not installed: no finder finds it; the hook steps aside and the import fails as
# it would without fastmlp
class Hide(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "skl2onnx":
            return None
        return super().find_spec(name, path, target)

i = sys.meta_path.index(importlib.machinery.PathFinder)
sys.meta_path[i] = Hide
try:
    import skl2onnx
    report["missing"] = "imported"
except ModuleNotFoundError as exc:
    report["missing"] = str(exc)
report["to_onnx_without_skl2onnx"] = [o.name for o in fastmlp.to_onnx(model).graph.output]
sys.meta_path[i] = importlib.machinery.PathFinder

import skl2onnx  # after fastmlp: the hook registers the converters
report["after"] = converts()
report["loader"] = "/".join(
    type(loader).__name__ for loader in (skl2onnx.__spec__.loader, skl2onnx.__loader__)
)
importlib.reload(skl2onnx)
report["after_reload"] = converts()
report["loader_after_reload"] = type(skl2onnx.__loader__).__name__
importlib.reload(sys.modules["fastmlp._onnx"])
report["hooks"] = sum(getattr(f, "_fastmlp_skl2onnx_hook", False) for f in sys.meta_path)
report["after_fastmlp_reload"] = converts()
print(json.dumps(report))
"""

_SKL2ONNX_FIRST = """
import json, warnings
warnings.simplefilter("ignore")
import skl2onnx
import fastmlp  # registers now: skl2onnx is already imported
FIT
print(json.dumps({"converts": converts()}))
"""


@pytest.fixture(scope="module", autouse=True)
def children(request):
    """Both import-order scripts, started with the module's first test when their tests are
    selected: they run while the other tests do (each pays for importing scikit-learn)."""
    procs = {}
    if any(item.name.startswith("test_import_") for item in request.session.items):
        for name, script in (
            ("fastmlp_first", _FASTMLP_FIRST), ("skl2onnx_first", _SKL2ONNX_FIRST)
        ):
            procs[name] = subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(script).replace("FIT", _FIT)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _report(proc):
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_import_fastmlp_then_skl2onnx(children):
    report = _report(children["fastmlp_first"])
    assert report["loaded_at_import"] == []  # import fastmlp imports neither onnx nor skl2onnx
    assert report["missing"] == "No module named 'skl2onnx'"
    assert report["to_onnx_without_skl2onnx"] == ["label", "probabilities"]
    assert report["after"] is True
    assert report["loader"] == "SourceFileLoader/SourceFileLoader"  # the wrapper is gone
    assert report["after_reload"] is True
    assert report["loader_after_reload"] == "SourceFileLoader"
    assert report["hooks"] == 1
    assert report["after_fastmlp_reload"] is True


def test_import_skl2onnx_then_fastmlp(children):
    assert _report(children["skl2onnx_first"]) == {"converts": True}
