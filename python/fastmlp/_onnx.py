"""Export of fitted fastmlp models to ONNX, and their converters for skl2onnx.

The graph is written here with ``onnx.helper``: per layer a MatMul, an Add and the activation,
then the output map of the estimator (class labels and probabilities, or regression values).
One builder writes it, either into a stand-alone model (:func:`to_onnx`) or into skl2onnx's
container (the converters registered with skl2onnx), so both paths give the same graph.

``import fastmlp`` imports neither onnx nor skl2onnx. The skl2onnx converters are registered

* when this module is imported and skl2onnx already is,
* when skl2onnx is imported later: a finder on ``sys.meta_path`` wraps skl2onnx's loader and
  registers the converters once the package has run (the finder never imports anything and
  steps aside when skl2onnx is not installed),
* at every call of :func:`to_onnx` while skl2onnx is imported (registration is idempotent).
"""

import importlib.abc
import sys
import threading
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._multilayer_perceptron import MLPClassifier, MLPRegressor, _checked_activations

# Every operator the graph uses has had its current semantics since opset 13.
_MIN_OPSET = 13
# The default opset, as skl2onnx 1.20's (when the installed onnx knows it).
_DEFAULT_OPSET = 22

_HIDDEN_OPS = {"identity": None, "logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
# The other hidden activations, written with operators that exist at _MIN_OPSET (Gelu and Mish
# are opset 20 and 18: composed from Erf, Exp, Log and Tanh instead).
_COMPOSED_ACTIVATIONS = (
    "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "softplus", "softsign", "mish", "hard_tanh",
)
_OUTPUT_OPS = {"identity": None, "logistic": "Sigmoid", "softmax": "Softmax", "exp": "Exp"}
# output maps written as a few standard operators each (_emit_sparsemax*)
_COMPOSITE_OUTPUTS = ("sparsemax", "sparsemax_binary")

_INSTALL_HINT = (
    'fastmlp.to_onnx needs the onnx package; install it with pip install "fastmlp[onnx]".'
)

# skl2onnx aliases of the two estimators
_ALIASES = {MLPClassifier: "FastmlpMLPClassifier", MLPRegressor: "FastmlpMLPRegressor"}


# --------------------------------------------------------------------------------- checks
def _model_dtype(model):
    """The dtype the model computes in: float32 when fitted on float32 X, else float64."""
    return np.dtype(np.float32) if model.coefs_[0].dtype == np.float32 else np.dtype(np.float64)


def _check_model(model):
    """Refuse what is not a fitted fastmlp estimator (NotFittedError when unfitted)."""
    if not isinstance(model, (MLPClassifier, MLPRegressor)):
        raise TypeError(
            "fastmlp.to_onnx exports fastmlp.MLPClassifier and fastmlp.MLPRegressor, got "
            f"{type(model).__module__}.{type(model).__name__}."
        )
    check_is_fitted(model)
    for name in _hidden_activations(model):
        if name not in _HIDDEN_OPS and name not in _COMPOSED_ACTIVATIONS:
            raise ValueError(f"Cannot export hidden activation {name!r}.")
    if model.out_activation_ not in _OUTPUT_OPS and model.out_activation_ not in _COMPOSITE_OUTPUTS:
        raise ValueError(f"Cannot export output activation {model.out_activation_!r}.")


def _hidden_activations(model):
    """The model's activation names, one per hidden layer."""
    return _checked_activations(model.activation, len(model.coefs_) - 1)


def _emit_activation(g, name, z, i, dtype, negative_slope):
    """Hidden activation `name` of layer i applied to z, as ONNX nodes; returns the output."""
    def const(hint, value):
        return g.constant(f"{hint}_{i}", np.array(value, dtype=dtype))

    def softplus(v):  # max(v, 0) + log(1 + exp(-|v|)): no overflow
        zero = const("zero", 0.0)
        one = const("one", 1.0)
        pos = g.node("Max", [v, zero], g.fresh(f"softplus_pos_{i}"))
        neg_abs = g.node("Neg", [g.node("Abs", [v], g.fresh(f"abs_{i}"))], g.fresh(f"neg_abs_{i}"))
        e = g.node("Exp", [neg_abs], g.fresh(f"exp_{i}"))
        log = g.node("Log", [g.node("Add", [one, e], g.fresh(f"one_plus_exp_{i}"))], g.fresh(f"log_{i}"))
        return g.node("Add", [pos, log], g.fresh(f"softplus_{i}"))

    out = g.fresh(f"activation_{i}")
    if name in _HIDDEN_OPS:
        op = _HIDDEN_OPS[name]
        return z if op is None else g.node(op, [z], out)
    zero = const("zero", 0.0)
    if name in ("leaky_relu", "elu", "selu"):
        # x > 0 ? x : negative part, with Where (onnxruntime has no float64 LeakyRelu or Elu)
        positive = g.node("Greater", [z, zero], g.fresh(f"positive_{i}"))
        if name == "leaky_relu":
            negative = g.node("Mul", [z, const("negative_slope", float(negative_slope))],
                              g.fresh(f"leaky_{i}"))
            return g.node("Where", [positive, z, negative], out)
        # eˣ − 1 of min(x, 0): the branch Where drops never overflows
        em1 = g.node("Sub", [g.node("Exp", [g.node("Min", [z, zero], g.fresh(f"nonpositive_{i}"))],
                                    g.fresh(f"exp_{i}")), const("one", 1.0)], g.fresh(f"expm1_{i}"))
        if name == "elu":
            return g.node("Where", [positive, z, em1], out)
        negative = g.node("Mul", [em1, const("selu_alpha", 1.6732632423543772848170429916717)],
                          g.fresh(f"selu_negative_{i}"))
        inner = g.node("Where", [positive, z, negative], g.fresh(f"selu_inner_{i}"))
        return g.node("Mul", [inner, const("selu_scale", 1.0507009873554804934193349852946)], out)
    if name == "gelu":  # x·(1 + erf(x/√2))/2
        scaled = g.node("Mul", [z, const("rsqrt2", 0.70710678118654752440084436210485)], g.fresh(f"gelu_arg_{i}"))
        if np.dtype(dtype) == np.float64:
            # onnxruntime implements Erf for float32 only: a float64 graph takes erf in float32
            # (it agrees with the model to about 1e-7)
            scaled = g.node("Cast", [scaled], g.fresh(f"gelu_arg32_{i}"), to=_tensor_type(np.float32))
            erf = g.node("Cast", [g.node("Erf", [scaled], g.fresh(f"erf32_{i}"))], g.fresh(f"erf_{i}"),
                         to=_tensor_type(np.float64))
        else:
            erf = g.node("Erf", [scaled], g.fresh(f"erf_{i}"))
        cdf = g.node("Mul", [g.node("Add", [erf, const("one", 1.0)], g.fresh(f"gelu_sum_{i}")),
                             const("half", 0.5)], g.fresh(f"cdf_{i}"))
        return g.node("Mul", [z, cdf], out)
    if name in ("silu", "swish"):
        return g.node("Mul", [z, g.node("Sigmoid", [z], g.fresh(f"sigmoid_{i}"))], out)
    if name == "softplus":
        return g.node("Identity", [softplus(z)], out)
    if name == "softsign":  # x / (1 + |x|) (onnxruntime has no float64 Softsign)
        denominator = g.node("Add", [const("one", 1.0), g.node("Abs", [z], g.fresh(f"abs_{i}"))],
                             g.fresh(f"softsign_denominator_{i}"))
        return g.node("Div", [z, denominator], out)
    if name == "mish":
        t = g.node("Tanh", [softplus(z)], g.fresh(f"tanh_softplus_{i}"))
        return g.node("Mul", [z, t], out)
    if name == "hard_tanh":
        return g.node("Clip", [z, const("minus_one", -1.0), const("plus_one", 1.0)], out)
    raise ValueError(f"Cannot export hidden activation {name!r}.")


def _class_labels(model):
    """classes_ as the constant the label output is gathered from: int64 for integer, boolean
    and integral float labels (skl2onnx's convention), else UTF-8 strings."""
    classes = np.asarray(model.classes_)
    if classes.dtype.kind in "biu":
        if classes.dtype.kind == "u" and classes.size and classes.max() > np.iinfo(np.int64).max:
            raise ValueError("Class labels beyond the int64 range cannot be exported to ONNX.")
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if not np.array_equal(classes, np.round(classes)) or np.abs(classes).max() >= 2.0**63:
            raise ValueError(
                "ONNX class labels are int64 or strings, but classes_ holds non-integral floats "
                f"{classes.tolist()!r}. Fit on integer or string labels to export the model."
            )
        return classes.astype(np.int64)
    if classes.dtype.kind in "US" or all(isinstance(c, (str, bytes)) for c in classes):
        return np.array(
            [c if isinstance(c, bytes) else str(c).encode("utf-8") for c in classes], dtype=object
        )
    raise ValueError(
        f"Cannot export class labels of dtype {classes.dtype} to ONNX (int64 or strings only)."
    )


def _is_multilabel(model):
    return model.out_activation_ in ("logistic", "sparsemax_binary") and model.n_outputs_ > 1


def _check_X_sample(model, X_sample):
    """The width and dtype check of X_sample: it must match what the graph takes."""
    if X_sample is None:
        return
    if not sp.issparse(X_sample):
        X_sample = np.asarray(X_sample)  # a DataFrame gives its common dtype (object if mixed)
    shape, dtype = X_sample.shape, X_sample.dtype
    if len(shape) != 2:
        raise ValueError(
            f"X_sample must be 2-D of shape (n_samples, {model.n_features_in_}), got shape "
            f"{tuple(shape)}."
        )
    if shape[1] != model.n_features_in_:
        raise ValueError(
            f"X_sample has {shape[1]} features, but {type(model).__name__} is expecting "
            f"{model.n_features_in_} features as input."
        )
    expected = _model_dtype(model)
    if np.dtype(dtype) != expected:
        raise ValueError(
            f"X_sample has dtype {np.dtype(dtype)}, but the graph's input is {expected}, the "
            f"dtype this model was fitted in. Pass X_sample.astype(np.{expected}) (or use "
            "skl2onnx.to_onnx, which casts another input type to the model's)."
        )


def _check_opset(opset, newest):
    if opset < _MIN_OPSET or opset > newest:
        raise ValueError(
            f"target_opset must be between {_MIN_OPSET} and {newest} (the newest opset the "
            f"installed onnx knows), got {opset}."
        )


# ---------------------------------------------------------------------------- the builder
def _tensor_type(dtype):
    from onnx import TensorProto

    return {
        np.dtype(np.float32): TensorProto.FLOAT,
        np.dtype(np.float64): TensorProto.DOUBLE,
        np.dtype(np.int64): TensorProto.INT64,
        np.dtype(object): TensorProto.STRING,
    }[np.dtype(dtype)]


class _ModelGraph:
    """Collects nodes and initializers for a stand-alone graph; names are unique in it."""

    def __init__(self, reserved):
        self.nodes, self.initializers = [], []
        self._taken = set(reserved)

    def fresh(self, hint):
        name, i = hint, 0
        while name in self._taken:
            i += 1
            name = f"{hint}_{i}"
        self._taken.add(name)
        return name

    def constant(self, hint, array):
        from onnx import helper, numpy_helper

        name = self.fresh(hint)
        if array.dtype == object:
            tensor = helper.make_tensor(name, _tensor_type(object), array.shape, list(array))
        else:
            tensor = numpy_helper.from_array(array, name)
        self.initializers.append(tensor)
        return name

    def node(self, op_type, inputs, output=None, **attrs):
        """Add a node; `output` is its output's name, or a list of names for several."""
        from onnx import helper

        output = output or self.fresh(op_type.lower())
        outputs = list(output) if isinstance(output, list) else [output]
        self.nodes.append(
            helper.make_node(op_type, inputs, outputs, name=self.fresh(f"{op_type}_node"), **attrs)
        )
        return output


class _Skl2onnxGraph:
    """The same interface writing into skl2onnx's scope and container."""

    def __init__(self, scope, container):
        self._scope, self._container = scope, container

    def fresh(self, hint):
        return self._scope.get_unique_variable_name(hint)

    def constant(self, hint, array):
        from onnx import numpy_helper

        name = self.fresh(hint)
        if array.dtype == object:
            content = list(array)
        else:
            content = numpy_helper.from_array(array, name)
        self._container.add_initializer(name, _tensor_type(array.dtype), list(array.shape), content)
        return name

    def node(self, op_type, inputs, output=None, **attrs):
        output = output or self.fresh(op_type.lower())
        outputs = list(output) if isinstance(output, list) else [output]
        self._container.add_node(
            op_type, inputs, outputs, name=self._scope.get_unique_operator_name(op_type), **attrs
        )
        return output


def _emit_sparsemax(g, z, dtype, n_classes):
    """p = max(z - tau, 0) row by row (Martins & Astudillo 2016, algorithm 1): with z_(1) >= ...
    >= z_(K) the sorted scores, the support is the k with 1 + k z_(k) > sum_{j<=k} z_(j), and tau
    = (sum of the support's scores - 1) / its size. Scores are shifted by their maximum first,
    as in the core. TopK, CumSum, ReduceSum (axes as input): opset 13."""
    k = g.constant("sparsemax_k", np.array([n_classes], dtype=np.int64))
    ordered, _ = g.node(
        "TopK", [z, k], [g.fresh("sparsemax_sorted"), g.fresh("sparsemax_order")],
        axis=1, largest=1, sorted=1,
    )
    zero_1d = g.constant("sparsemax_start", np.array([0], dtype=np.int64))
    one_1d = g.constant("sparsemax_axis", np.array([1], dtype=np.int64))
    top = g.node("Slice", [ordered, zero_1d, one_1d, one_1d], g.fresh("sparsemax_max"))
    ordered = g.node("Sub", [ordered, top], g.fresh("sparsemax_sorted_shifted"))
    shifted = g.node("Sub", [z, top], g.fresh("sparsemax_shifted"))
    axis = g.constant("sparsemax_cumsum_axis", np.array(1, dtype=np.int64))
    cumulative = g.node("CumSum", [ordered, axis], g.fresh("sparsemax_cumsum"))
    ranks = g.constant("sparsemax_ranks", np.arange(1, n_classes + 1, dtype=dtype)[None, :])
    one = g.constant("sparsemax_one", np.array(1.0, dtype=dtype))
    bound = g.node("Add", [one, g.node("Mul", [ranks, ordered], g.fresh("sparsemax_kz"))],
                   g.fresh("sparsemax_bound"))
    inside = g.node("Greater", [bound, cumulative], g.fresh("sparsemax_in_support"))
    inside = g.node("Cast", [inside], g.fresh("sparsemax_support"), to=_tensor_type(dtype))
    size = g.node("ReduceSum", [inside, one_1d], g.fresh("sparsemax_size"), keepdims=1)
    total = g.node("ReduceSum", [g.node("Mul", [inside, ordered], g.fresh("sparsemax_kept")),
                                 one_1d], g.fresh("sparsemax_sum"), keepdims=1)
    tau = g.node("Div", [g.node("Sub", [total, one], g.fresh("sparsemax_sum_1")), size],
                 g.fresh("sparsemax_tau"))
    return g.node("Relu", [g.node("Sub", [shifted, tau], g.fresh("sparsemax_margin"))],
                  g.fresh("sparsemax"))


def _emit_sparsemax_binary(g, z, dtype):
    """p = clip((z + 1) / 2, 0, 1): the 2-class sparsemax of (0, z), per output."""
    one = g.constant("sparsemax_one", np.array(1.0, dtype=dtype))
    half = g.constant("sparsemax_half", np.array(0.5, dtype=dtype))
    zero = g.constant("sparsemax_zero", np.array(0.0, dtype=dtype))
    mid = g.node("Mul", [g.node("Add", [z, one], g.fresh("sparsemax_z1")), half],
                 g.fresh("sparsemax_mid"))
    return g.node("Clip", [mid, zero, one], g.fresh("sparsemax_binary"))


def _emit_network(model, g, x, x_dtype, outputs, out_dtype, class_indices=False):
    """Write the model's graph into g, from input x (of x_dtype) to the names in `outputs`:
    {'label', 'probabilities'} for a classifier, {'variable'} for a regressor. Computation is
    in the model's dtype; x is cast to it first, and float outputs to out_dtype at the end.
    With class_indices (skl2onnx's option nocl), the label is the index of the class in
    classes_ instead of the class."""
    dtype = _model_dtype(model)
    h = x
    if np.dtype(x_dtype) != dtype:
        h = g.node("Cast", [x], g.fresh("X_cast"), to=_tensor_type(dtype))
    last = len(model.coefs_) - 1
    hidden = _hidden_activations(model)
    for i, (coef, intercept) in enumerate(zip(model.coefs_, model.intercepts_)):
        w = g.constant(f"coef_{i}", np.ascontiguousarray(coef, dtype=dtype))
        b = g.constant(f"intercept_{i}", np.ascontiguousarray(intercept, dtype=dtype))
        h = g.node("MatMul", [h, w], g.fresh(f"matmul_{i}"))
        h = g.node("Add", [h, b], g.fresh(f"z_{i}"))
        if i < last:
            h = _emit_activation(g, hidden[i], h, i, dtype, model.negative_slope)
            continue
        if i == last and model.out_activation_ == "sparsemax":
            h = _emit_sparsemax(g, h, dtype, coef.shape[1])
            continue
        if i == last and model.out_activation_ == "sparsemax_binary":
            h = _emit_sparsemax_binary(g, h, dtype)
            continue
        op = _OUTPUT_OPS[model.out_activation_]
        if op is not None:
            attrs = {"axis": 1} if op == "Softmax" else {}
            h = g.node(op, [h], g.fresh(f"activation_{i}"), **attrs)

    def finish(value, name):  # the float output `name`, in out_dtype
        if np.dtype(out_dtype) != dtype:
            return g.node("Cast", [value], name, to=_tensor_type(out_dtype))
        return g.node("Identity", [value], name)

    if not is_classifier(model):
        finish(h, outputs["variable"])
        return

    if _is_multilabel(model):
        # predict: a 0/1 indicator matrix, probability > 0.5
        half = g.constant("half", np.array(0.5, dtype=dtype))
        above = g.node("Greater", [h, half], g.fresh("above_half"))
        g.node("Cast", [above], outputs["label"], to=_tensor_type(np.int64))
        finish(h, outputs["probabilities"])
        return

    if model.n_outputs_ == 1:
        # binary: predict thresholds p at 0.5, predict_proba is [1 - p, p]
        half = g.constant("half", np.array(0.5, dtype=dtype))
        above = g.node("Greater", [h, half], g.fresh("above_half"))
        index = g.node("Cast", [above], g.fresh("index_2d"), to=_tensor_type(np.int64))
        flat = g.constant("flat_shape", np.array([-1], dtype=np.int64))
        index = g.node("Reshape", [index, flat], g.fresh("index"))
        one = g.constant("one", np.array(1.0, dtype=dtype))
        negative = g.node("Sub", [one, h], g.fresh("negative_probability"))
        probabilities = g.node("Concat", [negative, h], g.fresh("probabilities"), axis=1)
    else:
        # multiclass: the first class of highest probability, as numpy's argmax picks it
        probabilities = h
        index = g.node("ArgMax", [h], g.fresh("index"), axis=1, keepdims=0, select_last_index=0)
    if class_indices:
        g.node("Identity", [index], outputs["label"])
    else:
        classes = g.constant("classes", _class_labels(model))
        g.node("Gather", [classes, index], outputs["label"], axis=0)
    finish(probabilities, outputs["probabilities"])


# -------------------------------------------------------------------------------- to_onnx
def to_onnx(model, X_sample=None, *, target_opset=None):
    """Export a fitted fastmlp estimator to an ONNX model.

    The graph computes what the estimator computes, in its dtype: a model fitted on float32
    X gives a float32 graph, one fitted on float64 X a double graph. Each layer is a MatMul,
    an Add and the activation. The outputs follow skl2onnx's conventions.

    Requires the ``onnx`` package (``pip install "fastmlp[onnx]"``); skl2onnx is not needed.

    Parameters
    ----------
    model : MLPClassifier or MLPRegressor
        A fitted fastmlp estimator.
    X_sample : {array-like, sparse matrix} of shape (n_samples, n_features_in_), default=None
        Only checked, never stored: its width must be ``n_features_in_`` and its dtype the
        model's (float32 or float64). The graph is built from the fitted attributes alone.
    target_opset : int, default=None
        Opset of the default ONNX domain, from 13 up to the newest the installed onnx knows.
        None takes 22, skl2onnx's default, or onnx's newest if that is older. Every operator
        of the graph has had its current meaning since opset 13.

    Returns
    -------
    onnx_model : onnx.ModelProto
        A model checked with ``onnx.checker.check_model``. Its input ``"X"`` has shape
        (N, n_features_in_), N dynamic, in the model's dtype. Outputs:

        - classifiers: ``"label"``, shape (N,), the class of :meth:`MLPClassifier.predict`
          (int64, or string when ``classes_`` are strings; boolean and integral float labels
          become int64), and ``"probabilities"``, shape (N, n_classes), what
          :meth:`MLPClassifier.predict_proba` returns (binary: ``[1 - p, p]``). For a
          multilabel model ``"label"`` is the (N, n_labels) int64 0/1 matrix of ``predict``
          and ``"probabilities"`` the (N, n_labels) label probabilities.
        - regressors: ``"variable"``, shape (N, n_outputs_). For a single output that is
          (N, 1), where :meth:`MLPRegressor.predict` returns shape (N,).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ValueError
        If X_sample's width or dtype does not match the model, if ``target_opset`` is out of
        range, or if ``classes_`` holds non-integral floats (ONNX labels are int64 or string).
    ImportError
        If onnx is not installed.

    Notes
    -----
    Every loss exports: the regression losses through their output map (identity, or Exp for
    'poisson' and 'gamma'), ``loss='sparsemax'`` through standard operators (multiclass: TopK,
    CumSum and ReduceSum compute the sparsemax threshold; binary and multilabel: Clip), so
    the probabilities keep their exact zeros.

    Importing fastmlp imports neither onnx nor skl2onnx. When skl2onnx is imported (before or
    after fastmlp), fastmlp registers its converters with it, so ``skl2onnx.to_onnx`` and
    ``skl2onnx.convert_sklearn`` convert fastmlp estimators too, alone or in a pipeline, with
    the ``zipmap`` option for classifiers.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from fastmlp import MLPClassifier, to_onnx
    >>> X = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = MLPClassifier(max_iter=300, random_state=0).fit(X, y)
    >>> session = ort.InferenceSession(to_onnx(clf).SerializeToString())
    >>> label, probabilities = session.run(None, {"X": X[:5]})
    """
    try:
        import onnx
        from onnx import helper
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc

    _register_if_skl2onnx_loaded()
    _check_model(model)
    _check_X_sample(model, X_sample)
    newest = onnx.defs.onnx_opset_version()
    opset = min(_DEFAULT_OPSET, newest) if target_opset is None else target_opset
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"target_opset must be an int or None, got {target_opset!r}.")
    _check_opset(int(opset), newest)

    dtype = _model_dtype(model)
    n_features = model.n_features_in_
    if is_classifier(model):
        names = {"label": "label", "probabilities": "probabilities"}
        n_columns = len(model.classes_) if not _is_multilabel(model) else model.n_outputs_
        if _is_multilabel(model):
            label_info = helper.make_tensor_value_info(
                "label", _tensor_type(np.int64), ["N", n_columns]
            )
        else:
            label_info = helper.make_tensor_value_info(
                "label", _tensor_type(_class_labels(model).dtype), ["N"]
            )
        outputs = [
            label_info,
            helper.make_tensor_value_info("probabilities", _tensor_type(dtype), ["N", n_columns]),
        ]
    else:
        names = {"variable": "variable"}
        outputs = [
            helper.make_tensor_value_info("variable", _tensor_type(dtype), ["N", model.n_outputs_])
        ]

    g = _ModelGraph(reserved=["X", *names.values()])
    _emit_network(model, g, "X", dtype, names, dtype)
    graph = helper.make_graph(
        g.nodes,
        f"fastmlp_{type(model).__name__}",
        [helper.make_tensor_value_info("X", _tensor_type(dtype), ["N", n_features])],
        outputs,
        initializer=g.initializers,
    )
    opset_imports = [helper.make_opsetid("", int(opset))]
    from . import __version__

    onnx_model = helper.make_model(
        graph,
        opset_imports=opset_imports,
        producer_name="fastmlp",
        producer_version=__version__,
        ir_version=helper.find_min_ir_version_for(opset_imports),
        doc_string=f"fastmlp.{type(model).__name__} exported by fastmlp.to_onnx",
    )
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


# ------------------------------------------------------------------- skl2onnx converters
def _classifier_options(operator):
    """The classifier's skl2onnx options zipmap and nocl, with skl2onnx's defaults."""
    defaults = {"zipmap": True, "nocl": False}
    scope = getattr(operator, "scope_inst", None)
    if scope is None:
        return defaults
    return scope.get_options(operator.raw_operator, dict(defaults))


def _skl2onnx_io(operator):
    """The input's dtype, and the dtype of the float outputs: the input's (skl2onnx's
    convention), except float32 probabilities for a ZipMap, which takes float only."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    model = operator.raw_operator
    if len(operator.inputs) != 1:
        raise RuntimeError(
            f"fastmlp's {type(model).__name__} converter takes one input tensor of shape "
            f"(N, {model.n_features_in_}), got {len(operator.inputs)} inputs."
        )
    x_type = operator.inputs[0].type
    if isinstance(x_type, DoubleTensorType):
        x_dtype = np.dtype(np.float64)
    elif isinstance(x_type, FloatTensorType):
        x_dtype = np.dtype(np.float32)
    else:
        raise TypeError(
            f"fastmlp's {type(model).__name__} converter takes a float or double tensor, got "
            f"{type(x_type).__name__}."
        )
    shape = x_type.shape
    if shape is not None and len(shape) == 2 and isinstance(shape[1], (int, np.integer)):
        if shape[1] != model.n_features_in_:
            raise ValueError(
                f"The input has {shape[1]} features, but {type(model).__name__} is expecting "
                f"{model.n_features_in_} features as input."
            )
    out_dtype = x_dtype
    if is_classifier(model) and _classifier_options(operator)["zipmap"] is True:
        out_dtype = np.dtype(np.float32)
    return x_dtype, out_dtype


def _skl2onnx_shapes(operator):
    """skl2onnx shape calculator of both estimators."""
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    model = operator.raw_operator
    _check_model(model)
    _, out_dtype = _skl2onnx_io(operator)
    float_type = FloatTensorType if out_dtype == np.float32 else DoubleTensorType
    n = operator.inputs[0].get_first_dimension()
    if not is_classifier(model):
        operator.outputs[0].type = float_type([n, model.n_outputs_])
        return
    if _is_multilabel(model):
        operator.outputs[0].type = Int64TensorType([n, model.n_outputs_])
        operator.outputs[1].type = float_type([n, model.n_outputs_])
        return
    strings = _class_labels(model).dtype == object and not _classifier_options(operator)["nocl"]
    label_type = StringTensorType if strings else Int64TensorType
    operator.outputs[0].type = label_type([n])
    operator.outputs[1].type = float_type([n, len(model.classes_)])


def _skl2onnx_convert(scope, operator, container):
    """skl2onnx converter of both estimators: the graph of :func:`to_onnx`."""
    model = operator.raw_operator
    _check_model(model)
    opset = container.target_opset
    if isinstance(opset, dict):
        opset = opset.get("", None)
    if opset is not None and opset < _MIN_OPSET:
        raise ValueError(
            f"fastmlp's converters need opset {_MIN_OPSET} or newer, got target_opset={opset}."
        )
    x_dtype, out_dtype = _skl2onnx_io(operator)
    if is_classifier(model):
        names = {"label": operator.outputs[0].full_name,
                 "probabilities": operator.outputs[1].full_name}
    else:
        names = {"variable": operator.outputs[0].full_name}
    class_indices = is_classifier(model) and bool(_classifier_options(operator)["nocl"])
    g = _Skl2onnxGraph(scope, container)
    _emit_network(
        model, g, operator.inputs[0].full_name, x_dtype, names, out_dtype, class_indices
    )


def _classifier_parser(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser (label, probabilities, then the ZipMap the options ask
    for), after the fitted check: unfitted, it would fail on the missing classes_."""
    _check_model(model)
    from skl2onnx._parse import _parse_sklearn_classifier

    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers=custom_parsers)


def _register(skl2onnx):
    """Register both estimators' converters with the imported skl2onnx module."""
    try:
        from skl2onnx._parse import _parse_sklearn_classifier  # noqa: F401
    except ImportError:  # a future skl2onnx: its own parser, picked for the 'zipmap' option
        parser = None
    else:
        parser = _classifier_parser
    skl2onnx.update_registered_converter(
        MLPClassifier,
        _ALIASES[MLPClassifier],
        _skl2onnx_shapes,
        _skl2onnx_convert,
        parser=parser,
        options={"zipmap": [True, False, "columns"], "nocl": [False, True]},
    )
    skl2onnx.update_registered_converter(
        MLPRegressor, _ALIASES[MLPRegressor], _skl2onnx_shapes, _skl2onnx_convert
    )


def _register_quietly(skl2onnx):
    try:
        _register(skl2onnx)
    except Exception as exc:  # never break the import of skl2onnx
        warnings.warn(
            f"fastmlp could not register its ONNX converters with skl2onnx: {exc!r}. "
            "fastmlp.to_onnx still exports fastmlp models.",
            UserWarning,
            stacklevel=2,
        )


def _register_if_skl2onnx_loaded():
    skl2onnx = sys.modules.get("skl2onnx")
    if skl2onnx is not None and hasattr(skl2onnx, "update_registered_converter"):
        _register_quietly(skl2onnx)


# ---------------------------------------------------------------------- post-import hook
class _RegisteringLoader(importlib.abc.Loader):
    """skl2onnx's own loader, registering fastmlp's converters once the package has run.

    The module never sees this wrapper: exec_module puts the real loader back on the spec
    and the module before running it, so the imported package (and importlib.reload of it,
    which finds the spec anew) is as if there were no hook.
    """

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        self._loader.exec_module(module)
        _register_quietly(module)

    def __getattr__(self, name):  # get_code, get_source, get_resource_reader, ...
        return getattr(self._loader, name)


class _Skl2onnxImportHook(importlib.abc.MetaPathFinder):
    """Finds skl2onnx through the other finders and wraps its loader; nothing else.

    Returns None (the import goes on as if the hook were absent) for every other module,
    when no other finder finds skl2onnx (not installed), and for a loader without
    exec_module. It imports nothing.
    """

    _fastmlp_skl2onnx_hook = True
    _searching = threading.local()

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "skl2onnx" or getattr(self._searching, "active", False):
            return None
        self._searching.active = True
        try:
            spec = None
            for finder in list(sys.meta_path):
                if getattr(finder, "_fastmlp_skl2onnx_hook", False):
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._searching.active = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


def _install_import_hook():
    """Put one hook first on sys.meta_path, replacing any a previous load of this module
    left there (importlib.reload of fastmlp._onnx)."""
    sys.meta_path[:] = [
        f for f in sys.meta_path if not getattr(f, "_fastmlp_skl2onnx_hook", False)
    ]
    sys.meta_path.insert(0, _Skl2onnxImportHook())


_install_import_hook()
_register_if_skl2onnx_loaded()
