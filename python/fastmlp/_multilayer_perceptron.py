"""MLPClassifier and MLPRegressor: scikit-learn's estimators with every flop in fastmlp._core.

Python validates and decides (labels, weight initialisation, shuffling, the learning-rate
schedule, early stopping, verbose output); the core runs a whole epoch, a whole L-BFGS
objective or a whole prediction per call, with the GIL released.
"""

import inspect
import math
import os
import sys
import warnings
from abc import ABC, abstractmethod
from contextlib import contextmanager
from itertools import pairwise
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
import sklearn
from joblib import cpu_count
from numpy.random.bit_generator import ISeedSequence
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import TransformerTags, check_random_state, column_or_1d
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    make_constraint,
    validate_parameter_constraints,
)
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _core

_STOCHASTIC_SOLVERS = ("sgd", "adam")
# solvers trained epoch by epoch by _fit_stochastic (loss curve, tol, early stopping, partial_fit);
# rprop's epoch is one full-batch step
_EPOCH_SOLVERS = _STOCHASTIC_SOLVERS + ("rprop",)
# torch.optim.Rprop's defaults: etas (eta_minus, eta_plus) and step size bounds
_RPROP_ETAS = (0.5, 1.2)
_RPROP_STEP_SIZES = (1e-6, 50.0)

# name -> code of the core's enums (cpp/mlp/ops.h, cpp/mlp/network.h)
_HIDDEN_ACTIVATIONS = {
    "identity": 0,
    "logistic": 1,
    "tanh": 2,
    "relu": 3,
    "leaky_relu": 4,
    "elu": 5,
    "selu": 6,
    "gelu": 7,
    "silu": 8,
    "swish": 8,  # an alias of silu
    "softplus": 9,
    "softsign": 10,
    "mish": 11,
    "hard_tanh": 12,
}
_OUTPUT_ACTIVATIONS = {
    "softmax": 0, "logistic": 1, "identity": 2, "exp": 3, "sparsemax": 4, "sparsemax_binary": 5
}
# MLPRegressor's loss -> (out_activation_, the core's Output code of the map and loss)
_REGRESSION_LOSSES = {
    "squared_error": ("identity", 2),
    "poisson": ("exp", 3),
    "absolute_error": ("identity", 6),
    "huber": ("identity", 7),
    "quantile": ("identity", 8),
    "gamma": ("exp", 9),
}
_SOLVERS = {"sgd": 0, "adam": 1}
_LEARNING_RATES = ("constant", "invscaling", "adaptive", "cosine", "step")
_INITS = ("glorot_uniform", "he_uniform", "he_normal", "lecun_normal", "orthogonal")
_TRAINERS = {np.dtype(np.float32): _core.Trainer32, np.dtype(np.float64): _core.Trainer64}

# Rows per block of the full-batch objective: bounds L-BFGS memory to a block of activations.
_FULL_BATCH_BLOCK_ROWS = 4096


def _pack(coefs, intercepts, dtype):
    """The flat parameter arena in scikit-learn's `_pack` order."""
    return np.concatenate([np.ravel(a) for a in list(coefs) + list(intercepts)]).astype(
        dtype, copy=False
    )


def _arena_views(params, layer_units):
    """coefs_ and intercepts_ as views of the arena `params`."""
    coefs, intercepts, start = [], [], 0
    for fan_in, fan_out in pairwise(layer_units):
        coefs.append(params[start : start + fan_in * fan_out].reshape(fan_in, fan_out))
        start += fan_in * fan_out
    for fan_out in layer_units[1:]:
        intercepts.append(params[start : start + fan_out])
        start += fan_out
    return coefs, intercepts


def _for_core(a, dtype):
    """a as the core reads arrays: C-contiguous and aligned (an array unpickled from a byte
    stream, as dask and multiprocessing hand them over, may be neither), copied only if not.
    An array that already is one is handed back at once (np.require's own checks take a
    microsecond or more, and the sample order passes here every epoch)."""
    if type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned:
        return a
    return np.require(a, dtype=dtype, requirements=["C", "A"])


def _core_input(X, dtype):
    """X as the core reads it: a C-contiguous array, or the parts of a CSR matrix."""
    if sp.issparse(X):
        X = X.tocsr()
        return (
            _narrowed(X.data, dtype),
            _for_core(X.indices, np.int64),
            _for_core(X.indptr, np.int64),
            X.shape[0],
            X.shape[1],
        )
    return _narrowed(X, dtype)


def _narrowed(X, dtype):
    """Validated (finite) X as a C-contiguous array of dtype. A float32 model given float64 X
    beyond float32's range refuses it rather than compute on infinity and return NaN."""
    with np.errstate(over="ignore"):
        out = _for_core(X, dtype)
    if out.dtype.itemsize < X.dtype.itemsize and X.dtype.kind == "f" and not np.isfinite(out).all():
        raise ValueError(
            f"Input X contains a value too large for dtype('{out.dtype}'), the dtype of this model."
        )
    return out


def _checked_activations(activation, n_hidden, owner="the estimator"):
    """`activation` (a name, or a list of one name per hidden layer) as a list of n_hidden
    names, with scikit-learn-worded errors for a list of the wrong length or a bad name;
    owner names the estimator in them."""
    if isinstance(activation, str):
        return [activation] * n_hidden
    names = list(activation)
    if len(names) != n_hidden:
        raise ValueError(
            f"activation must be a str or a list with one activation per hidden layer; got "
            f"{len(names)} activations for {n_hidden} hidden layers (hidden_layer_sizes)."
        )
    for name in names:
        if not isinstance(name, str) or name not in _HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"The 'activation' parameter of {owner} must be a str among "
                f"{sorted(_HIDDEN_ACTIVATIONS)} or a list of them. Got {name!r} in {activation!r}."
            )
    return names


# the parameters partial_fit validates on a fitted model (those of them the estimator has)
_LOSS_PARAMETERS = frozenset(
    {"loss", "label_smoothing", "class_weight", "huber_delta", "quantile"}
)


class _DivergedError(ValueError):
    """Training produced a non-finite loss or weights; the last finite weights are in place."""


@contextmanager
def _unchanged_on_error(est):
    """Put every attribute of `est` back as it was when the body raises: a refused fit or
    partial_fit leaves a fitted model exactly as it was. Lists and dicts the body may change in
    place are restored in place: the lists (loss_curve_ and the other curves) are only ever
    appended to, so they are cut back to their length, and the dicts (the optimizer state, a
    few entries) are copied. (Copying the curves made each partial_fit call cost more than the
    last: O(calls so far).) Arrays are not copied: the only in-place writes to them are
    training steps, and the one error raised after a step is _DivergedError, which keeps the
    last finite weights on purpose."""
    saved = dict(est.__dict__)
    lengths = {k: len(v) for k, v in saved.items() if isinstance(v, list)}
    contents = {k: dict(v) for k, v in saved.items() if isinstance(v, dict)}
    try:
        yield
    except _DivergedError:
        raise
    except BaseException:
        est.__dict__.clear()
        est.__dict__.update(saved)
        for k, n in lengths.items():
            del saved[k][n:]
        for k, v in contents.items():
            saved[k].clear()
            saved[k].update(v)
        raise


def _tqdm_class():
    """tqdm's bar class, or None when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _caller_stacklevel():
    """The warnings stacklevel of the first frame outside fastmlp and scikit-learn (the user's
    call to fit, also through a Pipeline or a search), counted from the caller of this."""
    inside = tuple(os.path.dirname(f) + os.sep for f in (__file__, sklearn.__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


def _progress_bar(verbose, total, desc, unit):
    """A tqdm bar on stderr when verbose >= 2, else None. Without tqdm, verbose >= 2 warns (once
    a fit) and gives None: the fit prints verbose=1's lines only."""
    if verbose is True or verbose < 2:
        return None
    tqdm = _tqdm_class()
    if tqdm is None:
        warnings.warn(
            "verbose=%r shows a progress bar only when tqdm is installed; printing "
            "verbose=1 output instead. Install it with: pip install \"fastmlp[progress]\""
            % (verbose,),
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
        return None
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=True)


def _postfix(loss, score=None, val_loss=None):
    """The progress bar's postfix: training loss, and with early stopping the validation
    loss and score."""
    postfix = {"loss": "%.6g" % loss}
    if val_loss is not None:
        postfix["val_loss"] = "%.6g" % val_loss
    if score is not None:
        postfix["val_score"] = "%.4f" % score
    return postfix


def _checked_hidden_layer_sizes(hidden_layer_sizes):
    """hidden_layer_sizes as a list of positive Python ints (scikit-learn's checks and words)."""
    if not hasattr(hidden_layer_sizes, "__iter__"):
        hidden_layer_sizes = [hidden_layer_sizes]
    hidden_layer_sizes = list(hidden_layer_sizes)
    for size in hidden_layer_sizes:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, Integral):
            raise TypeError(
                "hidden_layer_sizes must hold integers, got %r (%s)."
                % (hidden_layer_sizes, type(size).__name__)
            )
    if any(size <= 0 for size in hidden_layer_sizes):
        raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)
    return [int(size) for size in hidden_layer_sizes]


def _physical_memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _check_network_size(layer_units, dtype, max_rows):
    """Refuse, before anything is allocated, a network whose sizes overflow 64-bit arithmetic
    (ValueError) or whose fit could not fit in this machine's memory (MemoryError): numpy and
    the core would otherwise try, and an over-committed allocation can get the process killed
    when it is touched."""
    n_params = sum(a * b for a, b in pairwise(layer_units)) + sum(layer_units[1:])
    n_acts = max_rows * sum(layer_units[1:])  # Python ints: exact
    limit = np.iinfo(np.int64).max // 8
    if n_params > limit or n_acts > limit or max(layer_units) > limit:
        raise ValueError(
            f"hidden_layer_sizes={layer_units[1:-1]} gives a network of {n_params} parameters "
            "(layer units %s), too many to count in 64 bits." % layer_units
        )
    itemsize = np.dtype(dtype).itemsize
    # float64 initial draws, the arena, its gradient, two optimizer arrays, the best weights
    # kept for early stopping, and activations and deltas of a batch
    needed = n_params * (8 + 5 * itemsize) + 2 * n_acts * itemsize
    available = _physical_memory_bytes()
    if available is not None and needed > available:
        raise MemoryError(
            f"hidden_layer_sizes={layer_units[1:-1]} gives a network of {n_params} parameters "
            f"(layer units {layer_units}); fitting it needs about {needed / 2**30:.1f} GiB, more "
            f"than this machine's {available / 2**30:.1f} GiB of memory."
        )


def _initial_weights(init, fan_in, fan_out, random_state):
    """A (fan_in, fan_out) float64 weight matrix drawn from random_state by the scheme `init`
    (any but 'glorot_uniform', which keeps scikit-learn's own draws)."""
    if init == "he_uniform":
        bound = np.sqrt(6.0 / fan_in)
        return random_state.uniform(-bound, bound, (fan_in, fan_out))
    if init == "he_normal":
        return random_state.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out))
    if init == "lecun_normal":
        return random_state.normal(0.0, np.sqrt(1.0 / fan_in), (fan_in, fan_out))
    # orthogonal: Q of the QR factorization of a standard Gaussian matrix, the signs of its
    # columns fixed by R's diagonal (torch.nn.init.orthogonal_); a wide matrix is factored
    # transposed, so that its rows come out orthonormal
    gaussian = random_state.standard_normal((fan_in, fan_out))
    wide = fan_in < fan_out
    q, r = np.linalg.qr(gaussian.T if wide else gaussian)
    q *= np.sign(np.diag(r))
    return q.T if wide else q


class BaseMultilayerPerceptron(BaseEstimator, ABC):
    """Base class for the MLP estimators: parameters, validation and the control loop."""

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's sorted parameter names, kept per class and __init__: scikit-learn
        reads them from __init__'s signature with inspect on every get_params, which every fit
        calls to validate its parameters (70 µs, a sixth of the Python time of a 20000-row
        one-epoch fit). Kept in the class's own __dict__ (not inherited), with the __init__
        they were read from, so they live and die with the class."""
        init = cls.__init__
        cached = cls.__dict__.get("_param_names_of_init")
        if cached is None or cached[0] is not init:
            cached = (init, tuple(super()._get_param_names()))
            cls._param_names_of_init = cached
        return list(cached[1])

    def _validate_params(self, names=None):
        """scikit-learn's parameter validation, with its refusals in its words: a parameter
        still holding its default object from __init__'s signature is valid as such (the
        estimator checks test the defaults), the others meet their constraints, built once per
        class; anything unmet goes to scikit-learn's validate_parameter_constraints, which
        raises. (Building every constraint and testing every value took 115 µs of each fit,
        2 % of a 20000-row one-epoch fit; this takes 3.) With names, only those parameters."""
        cls = type(self)
        init = cls.__init__
        cached = cls.__dict__.get("_param_checks_of_init")
        if cached is None or cached[0] is not init or cached[1] is not cls._parameter_constraints:
            defaults = inspect.signature(init).parameters
            checks = tuple(
                (name, defaults[name].default,
                 tuple(make_constraint(c) for c in cls._parameter_constraints[name]))
                for name in cls._get_param_names()
                if cls._parameter_constraints.get(name, "no_validation") != "no_validation"
            )
            cached = (init, cls._parameter_constraints, checks)
            cls._param_checks_of_init = cached
        for name, default, constraints in cached[2]:
            if names is not None and name not in names:
                continue
            value = getattr(self, name)
            if value is default:
                continue
            if not any(c.is_satisfied_by(value) for c in constraints):
                params = self.get_params(deep=False)
                if names is not None:
                    params = {k: v for k, v in params.items() if k in names}
                validate_parameter_constraints(
                    self._parameter_constraints, params, caller_name=cls.__name__,
                )
                return

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_HIDDEN_ACTIVATIONS)), list, tuple],
        "solver": [StrOptions({"lbfgs", "sgd", "adam", "rprop"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(_LEARNING_RATES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [
            None,
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "lr_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "lr_min": [Interval(Real, 0, None, closed="left")],
        "lr_step_size": [Interval(Integral, 1, None, closed="left")],
        "lr_gamma": [Interval(Real, 0, 1, closed="right")],
        "init": [StrOptions(set(_INITS))],
        "validation_data": [None, tuple],
        "restore_best_weights": ["boolean"],
        "negative_slope": [Interval(Real, 0, 1, closed="left")],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        loss,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        n_jobs,
        dropout=0.0,
        weight_decay=0.0,
        max_grad_norm=None,
        lr_warmup_epochs=0,
        lr_min=0.0,
        lr_step_size=50,
        lr_gamma=0.1,
        init="glorot_uniform",
        validation_data=None,
        restore_best_weights=True,
        negative_slope=0.01,
    ):
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.n_jobs = n_jobs
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.lr_warmup_epochs = lr_warmup_epochs
        self.lr_min = lr_min
        self.lr_step_size = lr_step_size
        self.lr_gamma = lr_gamma
        self.init = init
        self.validation_data = validation_data
        self.restore_best_weights = restore_best_weights
        self.negative_slope = negative_slope

    # ------------------------------------------------------------------ state
    def _n_threads(self):
        """OpenMP threads for one core call, read on every call (threadpoolctl may change it)."""
        if self.n_jobs is None:
            return max(1, _core.max_threads())
        if self.n_jobs < 0:
            return max(1, cpu_count() + 1 + self.n_jobs)
        return int(self.n_jobs)

    def _validated_fit_input(self, X, y, reset, **check_params):
        """validate_data(self, X, y) as fit and partial_fit call it. Plain arrays
        (_plain_fit_input) skip check_X_y's pass, whose NaN/inf check was most of its 0.2 ms
        at 20000×20 (the core scans X instead); the feature-name and width bookkeeping is
        scikit-learn's either way. Anything else, or a value to refuse, takes check_X_y, which
        words the refusal."""
        if _plain_fit_input(X, y, self._n_threads()):
            width = self.__dict__.get("n_features_in_", X.shape[1])
            if reset or ("feature_names_in_" not in self.__dict__ and width == X.shape[1]):
                # validate_data's bookkeeping for an ndarray, which has no feature names:
                # fitting drops feature_names_in_ and sets n_features_in_, a later call finds
                # nothing to warn about or refuse (~25 µs a call in scikit-learn's checks,
                # which look for a dataframe first)
                if reset:
                    self.__dict__.pop("feature_names_in_", None)
                    self.n_features_in_ = X.shape[1]
                return X, y
            return validate_data(self, X, y, skip_check_array=True, reset=reset)
        return validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=(np.float64, np.float32), reset=reset, **check_params,
        )

    def _hidden_codes(self, n_hidden):
        """The core's activation codes: one code for every hidden layer (a str, the common
        case, converts fastest), or a list of one code per hidden layer."""
        if isinstance(self.activation, str):
            return _HIDDEN_ACTIVATIONS[self.activation]
        return [_HIDDEN_ACTIVATIONS[a] for a in _checked_activations(self.activation, n_hidden)]

    def _layer_units(self):
        return [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]

    def _model_dtype(self):
        return np.dtype(np.float32) if self.coefs_[0].dtype == np.float32 else np.dtype(np.float64)

    def _set_arena(self, params, layer_units):
        """Make `params` the parameter arena, with coefs_ and intercepts_ as its views."""
        self._params = params
        self._params_units = list(layer_units)
        self.coefs_, self.intercepts_ = _arena_views(params, layer_units)
        self._params_views = tuple(self.coefs_ + self.intercepts_)

    def _arena(self):
        """The arena the core reads: ours while coefs_/intercepts_ hold the very views we handed
        out (changes made in place show through them), else one packed from what the user set."""
        views = self.__dict__.get("_params_views")
        current = list(self.coefs_) + list(self.intercepts_)
        if views is not None and len(current) == len(views):
            if all(a is b for a, b in zip(current, views)):
                return self._params
        self._set_arena(_pack(self.coefs_, self.intercepts_, self._model_dtype()), self._layer_units())
        return self._params

    def __sklearn_is_fitted__(self):
        # check_is_fitted asks this instead of scanning every attribute (~10 µs a call)
        return "coefs_" in self.__dict__

    def __getstate__(self):
        # a copy: on Python 3.11+ BaseEstimator hands back the live __dict__ for estimators
        # outside sklearn, and popping from it would strip the arena off the pickled model
        state = dict(super().__getstate__())
        for derived in ("_params", "_params_units", "_params_views"):
            state.pop(derived, None)  # coefs_ and intercepts_ carry the same numbers
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        # a model pickled by an earlier fastmlp lacks the parameters added since: their
        # defaults, which keep its behaviour
        for name, p in inspect.signature(type(self).__init__).parameters.items():
            if p.default is not inspect.Parameter.empty:
                self.__dict__.setdefault(name, p.default)
        if "coefs_" in self.__dict__:
            self._arena()

    # ---------------------------------------------------------------- forward
    def _check_fitted(self):
        # check_is_fitted rebuilds the estimator's tags on every call (~5 µs); a fitted model
        # is known from its __dict__, and an unfitted one gets scikit-learn's own error
        if "coefs_" not in self.__dict__:
            check_is_fitted(self)

    def _core_forward(self, X, params=None, check_finite=False, output=None):
        """Network output for validated X, computed natively: after the output activation, or
        after `output` ('identity' gives the raw scores of the last layer). With check_finite,
        returns None instead when X holds NaN or infinity."""
        if params is None:
            params = self._arena()
        # an array the core reads as it is skips _core_input's checks (~2 µs of a 1-row predict)
        ready = (type(X) is np.ndarray and X.dtype == params.dtype and X.flags.c_contiguous
                 and X.flags.aligned)
        return _core.forward(
            self._params_units,
            self._hidden_codes(len(self._params_units) - 2),
            _OUTPUT_ACTIVATIONS[output or self.out_activation_],
            params,
            X if ready else _core_input(X, params.dtype),
            self._n_threads(),
            check_finite,
            float(self.negative_slope),  # positional: a keyword costs pybind11 ~0.4 µs a call
        )

    def _forward_pass_fast(self, X, check_input=True, output=None):
        if not check_input:
            return self._core_forward(X, output=output)
        # The common case needs no conversion: a 2-D C-contiguous array of the model's dtype
        # and fitted width, fitted without feature names. The core scans it for NaN/inf; when
        # it finds any, or X is anything else, scikit-learn's validation decides and words it.
        params = self._arena()
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.flags.c_contiguous
            and X.shape[0] > 0
            and X.dtype == params.dtype
            and X.shape[1] == self.n_features_in_
            and "feature_names_in_" not in self.__dict__
        ):
            out = self._core_forward(X, params, check_finite=True, output=output)
            if out is not None:
                return out
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return self._core_forward(X, params, output=output)

    def transform(self, X, layer=-1):
        """Return the activations of a hidden layer (feature extraction).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        layer : int, default=-1
            Which hidden layer, indexed as a Python sequence over the hidden layers:
            0 is the first, -1 the last.

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[layer])
            The outputs of that layer's activation, in the model's dtype.
        """
        self._check_fitted()
        n_hidden = len(self.coefs_) - 1
        if n_hidden == 0:
            raise ValueError("transform needs a hidden layer; this network has none.")
        if isinstance(layer, bool) or not isinstance(layer, Integral):
            raise ValueError(f"layer must be an int, got {layer!r}.")
        if not -n_hidden <= layer < n_hidden:
            raise ValueError(
                f"layer={layer} is out of range for a network with {n_hidden} hidden layers."
            )
        params = self._arena()
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return _core.transform(
            self._params_units,
            self._hidden_codes(n_hidden),
            _OUTPUT_ACTIVATIONS[self.out_activation_],
            params,
            _core_input(X, params.dtype),
            int(layer) % n_hidden,
            self._n_threads(),
            negative_slope=float(self.negative_slope),
        )

    def fit_transform(self, X, y, **fit_params):
        """Fit the model, then return the activations of its last hidden layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        **fit_params : dict
            Passed to ``fit`` (``sample_weight``).

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            ``self.fit(X, y, **fit_params).transform(X)``.
        """
        return self.fit(X, y, **fit_params).transform(X)

    # ----------------------------------------------------------------- fitting
    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._loss_out_activation()

        if self.init == "glorot_uniform":
            # Glorot uniform, drawn in float64 in scikit-learn's order, then cast. The gain follows
            # the activation each layer feeds (scikit-learn's rule for one activation; the output
            # layer takes the last hidden layer's)
            hidden = _checked_activations(self.activation, len(layer_units) - 2)
            if hidden:
                feeds = hidden + hidden[-1:]
            else:
                feeds = [self.activation if isinstance(self.activation, str) else "relu"]
            coefs, intercepts = [], []
            for (fan_in, fan_out), act in zip(pairwise(layer_units), feeds):
                factor = 2.0 if act == "logistic" else 6.0
                bound = np.sqrt(factor / (fan_in + fan_out))
                coefs.append(self._random_state.uniform(-bound, bound, (fan_in, fan_out)))
                intercepts.append(self._random_state.uniform(-bound, bound, fan_out))
        else:
            # the other schemes: weights drawn in float64 layer by layer, biases zero
            coefs = [
                _initial_weights(self.init, fan_in, fan_out, self._random_state)
                for fan_in, fan_out in pairwise(layer_units)
            ]
            intercepts = [np.zeros(fan_out) for fan_out in layer_units[1:]]
        self._set_arena(_pack(coefs, intercepts, dtype), layer_units)
        self.__dict__.pop("_optimizer_state", None)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]

        if self.solver in _EPOCH_SOLVERS:
            self.loss_curve_ = []
            self.learning_rate_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
                self.best_validation_score_ = None
                if self.validation_data is not None:
                    self._start_validation_record()

    def _start_validation_record(self):
        """Empty validation_scores_ and validation_loss_curve_, for validation_data."""
        self.validation_scores_ = []
        self.validation_loss_curve_ = []
        self.best_validation_score_ = -np.inf

    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden_layer_sizes = _checked_hidden_layer_sizes(self.hidden_layer_sizes)
        self._check_solver_options(self._checked_dropout(len(hidden_layer_sizes)))
        _checked_activations(self.activation, len(hidden_layer_sizes), type(self).__name__)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")

        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        n_samples, n_features = X.shape
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        n_outputs = y.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [n_outputs]
        dtype = np.dtype(X.dtype) if first_pass else self._model_dtype()
        sample_weight = self._with_class_weight(sample_weight, X, y)
        if sample_weight is not None:
            sample_weight = _for_core(_check_sample_weight(sample_weight, X, dtype=dtype), dtype)
        if not first_pass and self._loss_out_activation() != self.out_activation_:
            raise ValueError(
                f"The fitted network has the output activation {self.out_activation_!r}, but "
                f"loss={self.loss!r} needs {self._loss_out_activation()!r}. Set "
                "warm_start=False or fit a new estimator to change the output activation."
            )
        if not first_pass and self._layer_units() != layer_units:
            raise ValueError(
                f"The fitted network has layer sizes {self._layer_units()}, but this call "
                f"needs {layer_units} (n_features, hidden_layer_sizes, n_outputs). Set "
                "warm_start=False or fit a new estimator to change the architecture."
            )
        if first_pass:
            if self.solver in _STOCHASTIC_SOLVERS:
                max_rows = 200 if self.batch_size == "auto" else self.batch_size
                max_rows = min(max_rows, n_samples)
            else:
                max_rows = min(n_samples, _FULL_BATCH_BLOCK_ROWS)
            _check_network_size(layer_units, dtype, max_rows)
        validation = None
        if self.solver in _EPOCH_SOLVERS and self.validation_data is not None:
            validation = self._checked_validation_data(n_outputs, dtype)
        self.n_outputs_ = n_outputs
        self._random_state = _checked_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, dtype)

        if self.solver in _EPOCH_SOLVERS:
            self._fit_stochastic(
                X, y, sample_weight, layer_units, incremental, dtype, validation=validation
            )
        else:
            self._fit_lbfgs(X, self._core_targets(y, dtype), sample_weight, layer_units, dtype)

        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        self.n_params_ = int(sum(a * b + b for a, b in pairwise(layer_units)))
        return self

    def _checked_dropout(self, n_hidden):
        """The dropout rate of each hidden layer, as a list of floats (scikit-learn's words)."""
        if isinstance(self.dropout, Real):
            return [float(self.dropout)] * n_hidden
        rates = np.asarray(self.dropout, dtype=np.float64).ravel().tolist()
        if len(rates) != n_hidden:
            raise ValueError(
                "dropout must be a float or a list with one rate per hidden layer; got %d "
                "rates for %d hidden layers." % (len(rates), n_hidden)
            )
        if not all(0.0 <= r < 1.0 for r in rates):
            raise ValueError(
                "The 'dropout' parameter of %s must hold rates in [0, 1). Got %r instead."
                % (type(self).__name__, self.dropout)
            )
        return rates

    def _check_solver_options(self, dropout_rates):
        """dropout, weight_decay and max_grad_norm act on the stochastic solvers' steps: refuse
        them, when they are on, with the full-batch solvers (lbfgs, rprop)."""
        if self.solver in _STOCHASTIC_SOLVERS:
            return
        for name, on in (
            ("dropout", any(r > 0 for r in dropout_rates)),
            ("weight_decay", self.weight_decay > 0),
            ("max_grad_norm", self.max_grad_norm is not None),
        ):
            if on:
                raise ValueError(
                    "%s=%r needs a stochastic solver ('sgd' or 'adam'); solver=%r is a "
                    "full-batch solver. Set %s to its default or choose solver='sgd' or 'adam'."
                    % (name, getattr(self, name), self.solver, name)
                )
    def _checked_validation_data(self, n_outputs, dtype):
        """validation_data validated like X, y and sample_weight (after them: the fitted
        n_features_in_ and classes_ apply), as (X_val, Y_val binarized for the core's loss,
        y_val for the score, sample_weight_val)."""
        data = self.validation_data
        if len(data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                f"sample_weight_val), got a tuple of length {len(data)}."
            )
        X_val, y_val = self._validate_held_out(data[0], data[1])
        if y_val.ndim == 1:
            y_val = y_val.reshape((-1, 1))
        if y_val.shape[1] != n_outputs:
            raise ValueError(
                f"validation_data's y_val has {y_val.shape[1]} outputs, but the training "
                f"targets have {n_outputs}."
            )
        X_val = _narrowed(X_val, dtype) if not sp.issparse(X_val) else X_val.astype(dtype)
        sw_val = None
        if len(data) == 3 and data[2] is not None:
            sw_val = _for_core(_check_sample_weight(data[2], X_val, dtype=dtype), dtype)
        return X_val, _for_core(y_val, dtype), self._validation_targets(y_val), sw_val

    def _with_class_weight(self, sample_weight, X, y):
        """sample_weight with the class weights multiplied in, in float64 (classifiers)."""
        return sample_weight

    def _validate_loss_params(self):
        """scikit-learn skips parameter validation in partial_fit of a fitted model; the loss
        parameters are checked here so that a bad one is refused in its words, not the core's
        (through _validate_params' checks, built once per class: building them here took
        ~40 µs of every partial_fit call)."""
        self._validate_params(_LOSS_PARAMETERS)

    def _core_targets(self, y, dtype):
        """Targets as the core reads them: class indices for softmax and sparsemax (the one-hot
        rows of the label binarizer, without the matrix), else a (n_samples, n_outputs) array
        of dtype."""
        if self.out_activation_ in ("softmax", "sparsemax"):
            return _for_core(np.argmax(y, axis=1), np.int32)
        return _for_core(y, dtype)

    def _trainer(self, layer_units, dtype, max_rows):
        return _TRAINERS[dtype](
            layer_units,
            self._hidden_codes(len(layer_units) - 2),
            self._output_code(),
            max_rows,
            negative_slope=float(self.negative_slope),
            **self._loss_params(),
        )

    def _fit_lbfgs(self, X, Y, sample_weight, layer_units, dtype):
        n_samples = X.shape[0]
        trainer = self._trainer(layer_units, dtype, min(n_samples, _FULL_BATCH_BLOCK_ROWS))
        X_core = _core_input(X, dtype)
        params = self._arena().astype(dtype, copy=True)
        grad = np.empty_like(params)
        n_threads = self._n_threads()
        # the last iterate L-BFGS accepted (x0 until the first), and its loss
        kept = {"x": params.astype(np.float64), "fun": None, "n_iter": 0}

        def objective(x):
            # scipy works in float64; a float32 model is evaluated in float32
            params[:] = x
            loss = trainer.loss_and_grad(
                grad, params, X_core, Y, sample_weight, float(self.alpha), n_threads
            )
            if not (np.isfinite(loss) and np.isfinite(grad).all()):
                raise _DivergedError(loss)
            if kept["fun"] is None:
                kept["fun"] = loss  # the loss at x0
            return loss, grad.astype(np.float64)

        def accepted(intermediate_result):
            kept["x"] = np.array(intermediate_result.x, dtype=np.float64, copy=True)
            kept["fun"] = float(intermediate_result.fun)
            kept["n_iter"] += 1
            if bar is not None:
                bar.set_postfix(_postfix(kept["fun"]), refresh=False)
                bar.update()

        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        options = {"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol}
        if _scipy_takes_iprint():
            options["iprint"] = iprint
        bar = self._progress_bar(self.max_iter, "iter")
        try:
            opt_res = scipy.optimize.minimize(
                objective,
                kept["x"].copy(),
                method="L-BFGS-B",
                jac=True,
                options=options,
                callback=accepted,
            )
        except (_DivergedError, KeyboardInterrupt) as exc:
            if bar is not None:
                bar.close()
            self.n_iter_ = kept["n_iter"]
            self._set_arena(np.asarray(kept["x"], dtype=dtype), layer_units)
            if isinstance(exc, KeyboardInterrupt):
                self.loss_ = kept["fun"]
                warnings.warn("Training interrupted by user.")
                return
            self.loss_ = kept["fun"] if kept["fun"] is not None else exc.args[0]
            raise _DivergedError(self._divergence_message(exc.args[0], self.n_iter_ + 1))
        finally:
            if bar is not None:
                bar.close()
        self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        self.loss_ = opt_res.fun
        self._set_arena(np.asarray(opt_res.x, dtype=dtype), layer_units)

    def _divergence_message(self, loss, n_iter):
        if self.solver in _EPOCH_SOLVERS:
            cause = (
                "The learning rate may be too large (learning_rate_init=%r), or the input "
                "data may contain large values and need to be preprocessed (for example "
                "scaled with StandardScaler)." % self.learning_rate_init
            )
        else:
            cause = (
                "The input data may contain large values and need to be preprocessed (for "
                "example scaled with StandardScaler)."
            )
        return (
            "Solver produced non-finite parameter weights or loss (loss = %r in iteration "
            "%d): training diverged and was stopped. %s The weights of the last iteration with "
            "a finite loss and finite weights were kept." % (float(loss), n_iter, cause)
        )

    def _new_optimizer_state(self, n_params, dtype):
        if self.solver == "sgd":
            return {
                "learning_rate": float(self.learning_rate_init),
                "velocity": np.zeros(n_params, dtype=dtype),
                "epoch": 0,
            }
        if self.solver == "rprop":
            # per-parameter step sizes, starting at learning_rate_init, and the previous gradient
            return {
                "learning_rate": float(self.learning_rate_init),
                "step": np.full(n_params, self.learning_rate_init, dtype=dtype),
                "prev": np.zeros(n_params, dtype=dtype),
            }
        return {
            "learning_rate": float(self.learning_rate_init),
            "m": np.zeros(n_params, dtype=dtype),
            "v": np.zeros(n_params, dtype=dtype),
            "t": 0,
            "epoch": 0,
        }

    def _scheduled_rate(self, epoch):
        """The learning rate of 'cosine' and 'step' for epoch `epoch` (0-based, counted from
        the optimizer's start): the formulas of the `learning_rate` docstring."""
        eta0 = float(self.learning_rate_init)
        warmup = int(self.lr_warmup_epochs)
        if epoch < warmup:
            return eta0 * (epoch + 1) / (warmup + 1)
        e = epoch - warmup
        if self.learning_rate == "step":
            return eta0 * float(self.lr_gamma) ** (e // int(self.lr_step_size))
        period = max(int(self.max_iter) - warmup, 1)
        eta_min = float(self.lr_min)
        return eta_min + (eta0 - eta_min) * (1.0 + np.cos(np.pi * min(e, period) / period)) / 2.0

    def _fit_stochastic(
        self, X, y, sample_weight, layer_units, incremental, dtype, validation=None
    ):
        params = self._arena()
        state = self.__dict__.get("_optimizer_state")
        key = {"sgd": "velocity", "adam": "m", "rprop": "step"}[self.solver]
        if (
            not incremental
            or state is None
            or key not in state
            or state[key].shape != params.shape
            or state[key].dtype != dtype
        ):
            state = self._new_optimizer_state(params.size, dtype)
        self._optimizer_state = state

        early_stopping = self.early_stopping
        if validation is not None:
            # the user's validation set: no split of the training data
            X_train, y_train, sw_train = X, y, sample_weight
            X_val, Y_val_core, y_val, sw_val = validation
        elif early_stopping:
            stratify = y if (is_classifier(self) and self.n_outputs_ == 1) else None
            arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
            split = train_test_split(
                *arrays,
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            X_train, X_val, y_train, y_val = split[:4]
            sw_train, sw_val = (split[4], split[5]) if sample_weight is not None else (None, None)
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            Y_val_core = _for_core(y_val, dtype)  # binarised, for the loss
            y_val = self._validation_targets(y_val)
        else:
            X_train, y_train, sw_train = X, y, sample_weight
            X_val = y_val = sw_val = None
        validating = X_val is not None
        if validating and self.__dict__.get("validation_scores_") is None:
            # a warm start or partial_fit that validates where the first fit did not
            self._start_validation_record()

        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        if self.solver == "rprop":
            batch_size = n_samples  # full batch: batch_size is ignored
        elif self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        if self.solver == "rprop":
            trainer = _RpropEpochs(
                self._trainer(layer_units, dtype, min(n_samples, _FULL_BATCH_BLOCK_ROWS)), state
            )
        else:
            trainer = self._trainer(layer_units, dtype, batch_size)
        X_core = _core_input(X_train, dtype)
        Y_core = self._core_targets(y_train, dtype)
        sw_core = None if sw_train is None else _for_core(sw_train, dtype)
        solver = _SOLVERS.get(self.solver)
        dropout = self._checked_dropout(len(layer_units) - 2)
        dropout = dropout if any(r > 0 for r in dropout) else None
        # The weights and optimizer state after the last finite epoch, put back if an epoch
        # diverges (one copy of the arenas an epoch, O(1/n_samples) of the epoch's work).
        # Early stopping needs none: it returns its best weights, as scikit-learn does.
        restore_best = early_stopping and self.restore_best_weights
        arrays = [params] + [a for a in state.values() if isinstance(a, np.ndarray)]
        finite_copy = None if restore_best else [a.copy() for a in arrays]
        params_row = params.reshape(1, -1)  # for the core's finiteness scan of 2-D arrays

        if validating:
            # validation_loss_curve_'s L2 term takes the per-sample scale of the epoch's training
            # loss: the mean over its mini-batches (by rows) of 1 / (the batch's weight sum)
            batch_starts = np.arange(0, n_samples, batch_size)
            batch_rows = np.diff(np.append(batch_starts, n_samples))
            sw_train64 = None if sw_train is None else np.asarray(sw_train, dtype=np.float64)

        # Adam's step count, which the core updates in place: right even when Ctrl-C stops an epoch
        adam_step = np.array([state.get("t", 0)], dtype=np.int64)
        shuffled = None  # full batch (rprop): the order is moot
        if self.shuffle and self.solver != "rprop":
            shuffled = _shuffler(self._random_state)
        # train_epoch's arguments that hold for the whole fit, converted once and passed by
        # position (on a small data set an epoch is tens of microseconds, and each keyword
        # argument, attribute and float() of the call had cost a share of it); the order, the
        # learning rate and the dropout seed change from epoch to epoch
        arrays_arg = (params, state.get("velocity"), state.get("m"), state.get("v"), adam_step,
                      X_core, Y_core, sw_core)
        rule_arg = (batch_size, solver, float(self.alpha))
        optimizer_arg = (
            float(self.momentum), bool(self.nesterovs_momentum), float(self.beta_1),
            float(self.beta_2), float(self.epsilon), self._n_threads(),
            float(self.weight_decay), float(self.max_grad_norm or 0.0), dropout,
        )
        # partial_fit runs one epoch a call: no bar
        bar = None if incremental else self._progress_bar(self.max_iter, "epoch")
        score = val_loss = None
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if shuffled is not None:
                    sample_idx = shuffled(sample_idx)
                seed = 0
                if dropout is not None:  # drawn only then: the default's draws stay sklearn's
                    seed = int(self._random_state.randint(np.iinfo(np.int64).max))
                if self.learning_rate in ("cosine", "step"):
                    state["learning_rate"] = self._scheduled_rate(state.get("epoch", 0))
                epoch_rate = state["learning_rate"]
                loss, t = trainer.train_epoch(
                    *arrays_arg, _for_core(sample_idx, np.int64), *rule_arg, epoch_rate,
                    *optimizer_arg, seed,
                )
                if finite_copy is not None:
                    if not (math.isfinite(loss) and _core.all_finite(params_row, 1)):
                        for a, copy in zip(arrays, finite_copy):
                            np.copyto(a, copy)
                        raise _DivergedError(self._divergence_message(loss, self.n_iter_ + 1))
                    for a, copy in zip(arrays, finite_copy):
                        np.copyto(copy, a)
                if "t" in state:
                    state["t"] = t
                state["epoch"] = state.get("epoch", 0) + 1
                self.__dict__.setdefault("learning_rate_curve_", []).append(epoch_rate)
                self.n_iter_ += 1
                self.loss_ = loss
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    self._say("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))

                if validating:
                    out, val_loss = self._held_out_output_and_loss(
                        X_val, Y_val_core, sw_val,
                        self._l2_scale(sample_idx, batch_starts, batch_rows, sw_train64),
                    )
                    score = self._score(X_val, y_val, sample_weight=sw_val, output=out)
                    # appended next to the score (there): the two lists stay the same length
                    self.validation_loss_curve_.append(val_loss)
                self._update_no_improvement_count(early_stopping, X_val, y_val, sw_val, score)
                if validating and not early_stopping:
                    # validation_data without early stopping: recorded, not acted on
                    self.validation_scores_.append(score)
                    if self.verbose:
                        self._say("Validation score: %f" % score)
                    if score > self.best_validation_score_:
                        self.best_validation_score_ = score
                if bar is not None:
                    bar.set_postfix(_postfix(loss, score, val_loss), refresh=False)
                    bar.update()
                if self.learning_rate == "invscaling":
                    state["learning_rate"] = (
                        float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
                    )

                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs." % (self.tol, self.n_iter_no_change)
                        )
                    if self._trigger_stopping(msg, state):
                        break
                    self._no_improvement_count = 0

                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    if bar is not None:
                        bar.close()  # before the warning, which would print on the bar's line
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            if bar is not None:
                bar.close()
            if "t" in state:
                state["t"] = int(adam_step[0])
            warnings.warn("Training interrupted by user.")
        finally:
            if bar is not None:
                bar.close()  # also on early stopping, convergence and divergence

        if restore_best:
            self._set_arena(_pack(self._best_coefs, self._best_intercepts, dtype), layer_units)

    def _progress_bar(self, total, unit):
        desc = "%s (%s)" % (type(self).__name__, self.solver)
        return _progress_bar(self.verbose, total, desc, unit)

    def _say(self, line):
        """Print one of scikit-learn's verbose lines on stdout; with verbose >= 2 through
        tqdm.write, which redraws the progress bar below it (the same bytes on stdout)."""
        tqdm = _tqdm_class() if self.verbose is not True and self.verbose >= 2 else None
        if tqdm is None:
            print(line)
        else:
            tqdm.write(line, file=sys.stdout)

    def _l2_scale(self, order, batch_starts, batch_rows, sample_weight):
        """The factor of alpha/2·‖W‖² in this epoch's training loss: the mean over its
        mini-batches, by rows, of 1 / (the batch's sum of sample weights); batches whose
        weights sum to 0 or less take no step and count 0, as in the core."""
        n = order.shape[0]
        if sample_weight is None:
            return batch_starts.shape[0] / n
        sums = np.add.reduceat(sample_weight[order], batch_starts)
        stepped = sums > 0
        return float(np.sum(batch_rows[stepped] / sums[stepped])) / n

    def _held_out_output_and_loss(self, X_val, Y_val, sample_weight_val, l2_scale):
        """The network's output on the held-out set and its loss (validation_loss_curve_),
        from one forward pass: the core's per-row loss of the training objective, averaged
        with the sample weights, plus alpha/2·‖W‖²·l2_scale."""
        z = self._core_forward(X_val, output="identity")
        out, _, row_loss = _core.output_loss(
            self._output_code(), z, Y_val, None, self._n_threads(), **self._loss_params()
        )
        n_coefs = sum(a * b for a, b in pairwise(self._params_units))
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged fit's loss is inf/NaN
            if sample_weight_val is None:
                loss = float(np.sum(row_loss)) / row_loss.shape[0]
            else:
                w = np.asarray(sample_weight_val, dtype=np.float64)
                w_sum = float(np.sum(w))
                loss = float(np.sum(w * row_loss)) / w_sum if w_sum > 0 else np.nan
            if self.alpha > 0:
                coefs = self._arena()[:n_coefs].astype(np.float64)
                loss += 0.5 * float(self.alpha) * float(np.dot(coefs, coefs)) * l2_scale
        return out, loss

    def _trigger_stopping(self, msg, state):
        """Stop, or for the adaptive schedule divide the learning rate by 5 and go on (rprop
        adapts its own step sizes: it stops)."""
        if self.learning_rate != "adaptive" or self.solver == "rprop":
            if self.verbose:
                self._say(msg + " Stopping.")
            return True
        if state["learning_rate"] <= 1e-6:
            if self.verbose:
                self._say(msg + " Learning rate too small. Stopping.")
            return True
        state["learning_rate"] /= 5.0
        if self.verbose:
            self._say(msg + " Setting learning rate to %f" % state["learning_rate"])
        return False

    def _update_no_improvement_count(
        self, early_stopping, X_val, y_val, sample_weight_val, score=None
    ):
        if early_stopping:
            if score is None:
                score = self._score(X_val, y_val, sample_weight=sample_weight_val)
            self.validation_scores_.append(score)
            if self.verbose:
                self._say("Validation score: %f" % self.validation_scores_[-1])
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [i.copy() for i in self.intercepts_]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Returns a trained MLP model.
        """
        with _unchanged_on_error(self):
            return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _EPOCH_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    def _score_with_function(self, X, y, sample_weight, score_function, output=None):
        if output is None:
            y_pred = self._predict(X, check_input=False)
        else:
            y_pred = self._prediction_from_output(output)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # transform(X) gives hidden activations in the model's dtype (the dtype fit saw)
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64", "float32"])
        return tags


class _RpropEpochs:
    """solver='rprop' behind the core trainer's train_epoch, so that _fit_stochastic runs it
    like sgd and adam: each epoch is the full-batch objective and its gradient over every row
    (Trainer.loss_and_grad, as L-BFGS evaluates them) and one iRPROP- step of the core on the
    arena and the state's step sizes and previous gradient. The mini-batch and the other
    solvers' arguments are not used. Returns the objective before the step."""

    def __init__(self, trainer, state):
        self._trainer = trainer
        self._state = state
        self._grad = np.empty_like(state["step"])

    def train_epoch(self, params, velocity, m, v, t, X, Y, sample_weight, order, batch_size,
                    solver, alpha, learning_rate, momentum, nesterov, beta_1, beta_2, epsilon,
                    n_threads, *stochastic_only):
        # stochastic_only: weight_decay, max_grad_norm, dropout and its seed, at their
        # defaults (_fit refuses rprop with any other value)
        loss = self._trainer.loss_and_grad(self._grad, params, X, Y, sample_weight, alpha,
                                           n_threads)
        if np.isfinite(loss):
            _core.rprop_update(params, self._state["step"], self._state["prev"], self._grad,
                               *_RPROP_ETAS, *_RPROP_STEP_SIZES, n_threads)
        return loss, int(t[0])


def _fit_label_binarizer(labels):
    """A LabelBinarizer fitted on labels, refusing a single class (scikit-learn would fit a
    model that always predicts it). A 1-D integer array (the common case) is fitted in one
    unique pass: LabelBinarizer.fit's type_of_target and unique_labels scan it three times
    (0.7 ms of a 5 ms fit at 20000 rows); its attributes come out the same."""
    if _plain_integer_labels(labels):
        binarizer = LabelBinarizer()
        binarizer.classes_ = _unique_integers(labels)
        binarizer.y_type_ = _integer_target_kind(binarizer.classes_)
        binarizer.sparse_input_ = False
    else:
        binarizer = LabelBinarizer().fit(labels)
    if binarizer.y_type_ != "multilabel-indicator" and len(binarizer.classes_) < 2:
        raise ValueError(
            "MLPClassifier needs samples of at least 2 classes in the data, but the data "
            f"contains only one class: {binarizer.classes_[0].tolist()!r}."
        )
    return binarizer


def _plain_integer_labels(labels):
    """Whether labels is a non-empty 1-D integer ndarray: the common target, which the label
    helpers below handle in one pass where scikit-learn's scan it several times."""
    return (isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu"
            and labels.size > 0)


def _integer_target_kind(classes):
    """type_of_target's answer for 1-D integer labels of these unique values: more than two
    values is multiclass."""
    return "multiclass" if len(classes) > 2 else "binary"


def _has_unseen_classes(classes, fitted):
    """Whether classes (sorted, unique) holds a label outside fitted (classes_): as
    len(np.setdiff1d(classes, fitted, assume_unique=True)) > 0, by sets when both are integer
    arrays (setdiff1d's sort and search cost ~40 µs a partial_fit call)."""
    if classes.dtype.kind in "iu" and fitted.dtype.kind in "iu":
        return not set(classes.tolist()) <= set(fitted.tolist())
    return len(np.setdiff1d(classes, fitted, assume_unique=True)) > 0


def _unique_integers(labels):
    """np.unique(labels) of a non-empty 1-D integer array: by counting when the values span a
    short range (8x faster than np.unique's hashing at 20000 labels), else np.unique."""
    low, high = int(labels.min()), int(labels.max())
    if high - low > 4 * labels.size + 1024 or low < -(2**62) or high >= 2**62:
        return np.unique(labels)
    offsets = labels.astype(np.intp, copy=False)
    counts = np.bincount(offsets - low if low else offsets)
    return (np.flatnonzero(counts) + low).astype(labels.dtype)


def _binarize_labels(binarizer, y):
    """binarizer.transform(y) as bool. A 1-D numeric target of a single-label model takes two
    comparisons (two classes) or one searchsorted pass (LabelBinarizer.transform runs
    type_of_target and unique over y again, a few ms a fit at 10^4 rows); anything else, or a
    label outside classes_, takes LabelBinarizer's own path."""
    classes = binarizer.classes_
    y = np.asarray(y)
    if (binarizer.y_type_ in ("binary", "multiclass") and y.ndim == 1 and y.dtype.kind in "biuf"
            and classes.dtype.kind in "biuf" and len(classes) >= 2):
        if len(classes) == 2:  # a tenth of the search's time
            positive = y == classes[1]
            if (positive | (y == classes[0])).all():
                return positive[:, None]
        else:
            index = np.searchsorted(classes, y)
            np.minimum(index, len(classes) - 1, out=index)
            if (classes[index] == y).all():
                onehot = np.zeros((y.shape[0], len(classes)), dtype=bool)
                onehot[np.arange(y.shape[0]), index] = True
                return onehot
    return binarizer.transform(y).astype(bool)


def _plain_fit_input(X, y, n_threads):
    """Whether check_X_y would hand X and y back as they are, with nothing to convert or
    refuse: a 2-D C-contiguous float32/float64 ndarray X with rows and columns, a numeric 1-D
    or 2-D ndarray y of as many rows, and no NaN or infinity in either (unless scikit-learn's
    assume_finite says not to look, as check_X_y then does not)."""
    if not (
        type(X) is np.ndarray and X.ndim == 2 and X.dtype in _TRAINERS
        and X.flags.c_contiguous and X.flags.aligned and X.shape[0] >= 1 and X.shape[1] >= 1
        and type(y) is np.ndarray and y.dtype.kind in "biuf" and y.shape[:1] == X.shape[:1]
        and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] >= 1))
    ):
        return False
    if sklearn.get_config()["assume_finite"]:
        return True
    return _core.all_finite(X, n_threads) and (y.dtype.kind != "f" or bool(np.isfinite(y).all()))


class _OverwrittenSeedSequence(ISeedSequence):
    """The seed sequence of an MT19937 whose state legacy seeding overwrites at once: zeros,
    without SeedSequence's gathering of entropy and hashing."""

    def generate_state(self, n_words, dtype=np.uint32):
        return np.zeros(n_words, dtype=dtype)


_OVERWRITTEN_SEED_SEQUENCE = _OverwrittenSeedSequence()


def _checked_random_state(seed):
    """sklearn.utils.check_random_state(seed): for an integer seed a new RandomState(seed) in
    the same state (legacy seeding, no cached normal), built on an MT19937 that skips the seed
    sequence RandomState(seed) first seeds it from (entropy from the system, hashed into a
    state that the legacy seeding then overwrites: ~0.1 ms of every fit and partial_fit
    call); anything else as check_random_state gives it."""
    if isinstance(seed, Integral):
        random_state = np.random.RandomState(np.random.MT19937(_OVERWRITTEN_SEED_SEQUENCE))
        random_state.seed(seed)
        return random_state
    return check_random_state(seed)


def _shuffler(random_state):
    """A function of sample_idx that gives sklearn.utils.shuffle(sample_idx,
    random_state=random_state): the same draws from random_state and the same result, without
    its per-call validation and indexing dispatch (~0.4 ms an epoch at 20000 rows). A plain
    RandomState's Fisher-Yates pass runs in the core, drawing from the same bit generator
    through numpy's C interface to it (0.13-0.15 ms at 20000 rows where numpy's shuffle takes
    0.22-0.26), whose lock and address are looked up here once rather than every epoch;
    anything else is shuffled by numpy."""

    def by_numpy(sample_idx):
        order = np.arange(sample_idx.shape[0])
        random_state.shuffle(order)
        return sample_idx[order]

    bit_generator = getattr(random_state, "_bit_generator", None)
    if not (type(random_state) is np.random.RandomState
            and isinstance(bit_generator, np.random.BitGenerator)):
        return by_numpy
    lock, address = bit_generator.lock, bit_generator.ctypes.bit_generator.value

    def by_core(sample_idx):
        if (type(sample_idx) is np.ndarray and sample_idx.dtype == np.int64
                and sample_idx.ndim == 1 and sample_idx.flags.c_contiguous):
            with lock:  # as RandomState.shuffle holds it
                return _core.shuffled_like_numpy(sample_idx, address)
        return by_numpy(sample_idx)

    return by_core


def _labels_from_output(binarizer, y_pred):
    """binarizer.inverse_transform(y_pred) for the dense output of a single-label model,
    computed as LabelBinarizer computes it but without its per-call validation (~35 µs of a
    one-row predict); anything else takes LabelBinarizer's own path."""
    classes = binarizer.classes_
    if type(y_pred) is np.ndarray and not binarizer.sparse_input_:
        if binarizer.y_type_ == "multiclass" and y_pred.ndim == 2:
            return classes.take(y_pred.argmax(axis=1), mode="clip")
        if binarizer.y_type_ == "binary" and y_pred.ndim == 1 and len(classes) == 2:
            threshold = (binarizer.pos_label + binarizer.neg_label) / 2.0
            return classes[np.array(y_pred > threshold, dtype=int)]
    return binarizer.inverse_transform(y_pred)


def _scipy_takes_iprint():
    # scipy 1.15 deprecated L-BFGS-B's iprint (it prints nothing any more)
    major, minor = (int(p) for p in scipy.__version__.split(".")[:2])
    return (major, minor) < (1, 15)


_COMMON_PARAMS_DOC = """
    hidden_layer_sizes : array-like of shape(n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.
        An empty tuple gives a network with no hidden layer.
    activation : str or list of str, default='relu'
        Activation function for the hidden layers: one name for every hidden layer, or a
        list with one name per hidden layer (its length must be
        ``len(hidden_layer_sizes)``). With ``y = g(x)``, ``σ`` the logistic function,
        ``Φ``/``φ`` the standard normal CDF/density:

        - 'identity': ``g(x) = x``; ``g' = 1``.
        - 'logistic': ``g(x) = 1 / (1 + exp(-x))``; ``g' = y (1 - y)``.
        - 'tanh': ``g(x) = tanh(x)``; ``g' = 1 - y²``.
        - 'relu': ``g(x) = max(x, 0)``; ``g' = 1 if x > 0 else 0``.
        - 'leaky_relu': ``g(x) = x if x > 0 else s x`` with ``s = negative_slope``;
          ``g' = 1 if x > 0 else s``.
        - 'elu': ``g(x) = x if x > 0 else exp(x) - 1``; ``g' = 1 if x > 0 else y + 1``.
        - 'selu': ``g(x) = λ x if x > 0 else λ α (exp(x) - 1)`` with PyTorch's
          ``λ = 1.0507009873554805``, ``α = 1.6732632423543772``;
          ``g' = λ if x > 0 else y + λ α``.
        - 'gelu': ``g(x) = x Φ(x) = x (1 + erf(x / √2)) / 2`` (exact, PyTorch's default);
          ``g' = Φ(x) + x φ(x)``.
        - 'silu' (alias 'swish'): ``g(x) = x σ(x)``; ``g' = σ(x) (1 + x (1 - σ(x)))``.
        - 'softplus': ``g(x) = log(1 + exp(x))``, computed without overflow;
          ``g' = σ(x) = 1 - exp(-y)``.
        - 'softsign': ``g(x) = x / (1 + |x|)``; ``g' = 1 / (1 + |x|)² = (1 - |y|)²``.
        - 'mish': ``g(x) = x tanh(softplus(x))``;
          ``g' = t + x (1 - t²) σ(x)`` with ``t = tanh(softplus(x))``.
        - 'hard_tanh': ``g(x) = min(max(x, -1), 1)``; ``g' = 1 if |x| < 1 else 0``.

        Each is fused into the matrix products' epilogues. gelu, silu and mish layers also
        keep their pre-activations during training (their derivative needs ``x``). The
        weight initialisation uses scikit-learn's gain (2 for 'logistic', else 6) per layer,
        by the activation the layer feeds.
    solver : {'lbfgs', 'sgd', 'adam', 'rprop'}, default='adam'
        The solver for weight optimization. 'rprop' is iRPROP- (Igel & Husken 2000, the rule
        of ``torch.optim.Rprop``): full batch, one step per epoch from the gradient of the
        whole objective (the one L-BFGS minimizes), with a step size per parameter that
        starts at ``learning_rate_init`` and is multiplied by 1.2 while the gradient keeps its
        sign and by 0.5 when it changes sign (that step then does not move the parameter),
        kept in [1e-6, 50]. Like 'sgd' and 'adam' it records ``loss_curve_`` (the objective
        before each step), stops by ``tol``/``n_iter_no_change`` or early stopping, and has
        ``partial_fit`` (one full-batch step on the given data per call); ``batch_size`` and
        ``shuffle`` are ignored.
    alpha : float, default=0.0001
        Strength of the L2 regularization term, divided by the sample size (or the sum
        of sample weights) when added to the loss.
    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers; 'auto' is min(200, n_samples).
    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine', 'step'}, default='constant'
        Learning rate schedule for weight updates, for solver='sgd' and, unlike
        scikit-learn (which applies it to 'sgd' only), for solver='adam' too, where the
        scheduled rate is Adam's step size (the ``learning_rate_init`` of its update,
        before Adam's bias correction). The rate is set once per epoch (each
        ``partial_fit`` call is one epoch). With ``eta0 = learning_rate_init`` and ``e``
        the 0-based index of the epoch since the optimizer started (each call to ``fit``,
        also with ``warm_start=True``, starts it again at ``e = 0``, as scikit-learn
        starts a new optimizer; consecutive ``partial_fit`` calls continue it), the rate
        of epoch ``e`` is:

        - 'constant': ``eta0``.
        - 'invscaling': ``eta0 / (t + 1) ** power_t``, where ``t`` is ``t_`` before the
          epoch (the number of training samples seen so far), as in scikit-learn:
          epoch 0 runs at ``eta0``, epoch ``e`` at ``eta0 / (e * n_samples + 1) **
          power_t`` when every epoch sees ``n_samples`` samples.
        - 'adaptive': ``eta0`` while training improves; each time ``n_iter_no_change``
          epochs in a row fail to improve the training loss (or the validation score
          with early stopping) by ``tol``, the rate is divided by 5 instead of stopping,
          and training stops once the rate is 1e-6 or less at such a time (scikit-learn's
          rule).
        - 'cosine': with ``W = lr_warmup_epochs`` and ``T = max(max_iter - W, 1)``,
          ``eta0 * (e + 1) / (W + 1)`` for ``e < W`` (linear warm-up), then
          ``lr_min + (eta0 - lr_min) * (1 + cos(pi * min(e - W, T) / T)) / 2``: the
          cosine starts at ``eta0`` at epoch ``W`` and would reach ``lr_min`` at epoch
          ``max_iter`` (PyTorch's ``CosineAnnealingLR`` with ``T_max = T``), so
          ``fit``'s last epoch ``max_iter - 1`` runs just above ``lr_min``; epochs past
          ``max_iter`` (``partial_fit``) stay at ``lr_min``.
        - 'step': ``eta0 * (e + 1) / (W + 1)`` for ``e < W`` (the same warm-up), then
          ``eta0 * lr_gamma ** floor((e - W) / lr_step_size)`` (PyTorch's ``StepLR``).

        Early stopping (or the training loss criterion) stops every schedule but
        'adaptive'. The rate of each epoch is recorded in ``learning_rate_curve_``.
    learning_rate_init : float, default=0.001
        The initial learning rate (solver='sgd' or 'adam'), ``eta0`` of the schedules.
    power_t : float, default=0.5
        The exponent for the inverse scaling learning rate.
    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (lbfgs).
    shuffle : bool, default=True
        Whether to shuffle samples in each iteration (stochastic solvers).
    random_state : int, RandomState instance, default=None
        Determines weight and bias initialization, the train-test split for early
        stopping and batch sampling. Same draws as scikit-learn.
    tol : float, default=1e-4
        Tolerance for the optimization.
    verbose : bool or int, default=False
        Whether to print progress messages to stdout: with ``True`` or ``1``, scikit-learn's
        lines (``Iteration %d, loss = %.8f``, ``Validation score: %f``, the stopping
        messages), byte for byte. With ``2`` (or more), ``fit`` also shows a tqdm progress
        bar on stderr: one step per epoch (stochastic solvers, total ``max_iter``, with the
        training loss and, under early stopping, the validation loss and score as postfix)
        or per L-BFGS iteration. The bar is closed however training ends (convergence,
        early stopping, ``max_iter``, Ctrl-C, divergence). ``partial_fit`` runs one epoch
        a call and shows no bar. The bar needs tqdm (``pip install "fastmlp[progress]"``);
        without it, ``verbose=2`` warns and prints what ``verbose=1`` prints.
    warm_start : bool, default=False
        Reuse the solution of the previous call to fit as initialization.
    momentum : float, default=0.9
        Momentum for gradient descent update (solver='sgd').
    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum (solver='sgd' and momentum > 0).
    early_stopping : bool, default=False
        Whether to stop training when the validation score is not improving. The
        validation set is ``validation_data`` when given, else ``validation_fraction``
        of the training data.
    validation_fraction : float, default=0.1
        The proportion of training data to set aside for early stopping (not used when
        ``validation_data`` is given).
    beta_1 : float, default=0.9
        Exponential decay rate for estimates of the first moment vector in adam.
    beta_2 : float, default=0.999
        Exponential decay rate for estimates of the second moment vector in adam.
    epsilon : float, default=1e-8
        Value for numerical stability in adam.
    n_iter_no_change : int, default=10
        Maximum number of epochs to not meet ``tol`` improvement.
    max_fun : int, default=15000
        Maximum number of loss function calls (solver='lbfgs').
    n_jobs : int, default=None
        OpenMP threads for training and prediction. None uses every thread OpenMP
        allows (``OMP_NUM_THREADS``, threadpoolctl limits); negative values count back
        from the number of CPUs as in joblib (-1 is all of them). Results are the same
        bits for any value.
    dropout : float or list of float, default=0.0
        Inverted dropout on the hidden layers' outputs during training (solver='sgd' or
        'adam'): one rate for every hidden layer, or a list with one rate per hidden layer,
        each in [0, 1). In each mini-batch a unit of hidden layer ``l`` is zeroed with
        probability ``rate[l]`` and the kept units are multiplied by ``1 / (1 - rate[l])``,
        so the expected input of the next layer is unchanged; ``predict`` and the
        validation score and loss of early stopping use the whole network (no dropout),
        while ``loss_curve_`` is the training loss of the dropped-out network. The masks
        come from a counter-based generator keyed by a seed drawn from ``random_state``
        once per epoch (only when some rate is > 0, so the default's draws stay
        scikit-learn's): the same for any ``n_jobs`` and CPU. Not available with 'lbfgs' or
        'rprop' (ValueError): their full-batch steps assume a deterministic objective.
        Not in scikit-learn.
    weight_decay : float, default=0.0
        Decoupled weight decay (Loshchilov & Hutter, ``torch.optim.AdamW``), for
        solver='sgd' or 'adam': every step also multiplies the weights ``coefs_`` (not the
        intercepts) by ``1 - lr * weight_decay``, where ``lr`` is the current learning rate
        of the schedule (Adam: without its bias correction, as AdamW). Unlike ``alpha``,
        which adds an L2 term to the objective and so goes through Adam's scaling, the
        decay is not part of the gradient; for SGD this is the decoupled form (SGDW), not
        ``torch.optim.SGD``'s ``weight_decay`` (which adds ``weight_decay * w`` to the
        gradient, like ``alpha``). Not available with 'lbfgs' or 'rprop' (ValueError).
        Not in scikit-learn.
    max_grad_norm : float, default=None
        Gradient clipping for solver='sgd' or 'adam': before each step, the gradient of the
        mini-batch objective (with the ``alpha`` term) is multiplied by
        ``min(1, max_grad_norm / (norm + 1e-6))``, ``norm`` its global L2 norm over all
        weights and intercepts, as ``torch.nn.utils.clip_grad_norm_``. The norm is
        summed in double precision in a fixed order (the same bits for any ``n_jobs``).
        None is off. Not available with 'lbfgs' or 'rprop' (ValueError). Not in
        scikit-learn.
    lr_warmup_epochs : int, default=0
        Number of linear warm-up epochs of the 'cosine' and 'step' schedules (see
        ``learning_rate``); ignored by the other schedules.
    lr_min : float, default=0.0
        The rate the 'cosine' schedule decays to (see ``learning_rate``).
    lr_step_size : int, default=50
        Number of epochs between two decays of the 'step' schedule.
    lr_gamma : float, default=0.1
        Factor, in (0, 1], by which the 'step' schedule multiplies the rate every
        ``lr_step_size`` epochs.
    init : {'glorot_uniform', 'he_uniform', 'he_normal', 'lecun_normal', \
            'orthogonal'}, default='glorot_uniform'
        Weight initialization. Every scheme draws from ``random_state`` in float64, layer
        by layer, and casts to the model's dtype. For a layer of shape
        ``(fan_in, fan_out)``:

        - 'glorot_uniform': scikit-learn's exact draws: weights and biases uniform on
          ``[-b, b]``, ``b = sqrt(f / (fan_in + fan_out))`` with ``f = 2`` for
          ``activation='logistic'`` and ``f = 6`` otherwise.
        - 'he_uniform': weights uniform on ``[-b, b]``, ``b = sqrt(6 / fan_in)``
          (Kaiming uniform with gain ``sqrt(2)``: PyTorch's ``kaiming_uniform_`` with
          ``nonlinearity='relu'``, Keras' ``HeUniform``).
        - 'he_normal': weights normal with mean 0 and standard deviation
          ``sqrt(2 / fan_in)``, not truncated (PyTorch's ``kaiming_normal_``; Keras'
          ``HeNormal`` truncates at 2 standard deviations).
        - 'lecun_normal': weights normal with mean 0 and standard deviation
          ``sqrt(1 / fan_in)``, not truncated (Keras' ``LecunNormal`` truncates).
        - 'orthogonal': the Q factor of the QR decomposition of a standard normal
          ``(fan_in, fan_out)`` matrix (of its transpose when ``fan_in < fan_out``),
          each column of Q multiplied by the sign of R's diagonal entry, as
          ``torch.nn.init.orthogonal_`` (gain 1): ``W.T @ W = I`` when
          ``fan_in >= fan_out``, ``W @ W.T = I`` otherwise.

        The biases of every scheme but 'glorot_uniform' are zero. The schemes other
        than 'glorot_uniform' do not depend on ``activation``.
    validation_data : tuple or None, default=None
        ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``: a validation set
        for the stochastic solvers, used instead of a ``validation_fraction`` split of
        the training data (which is then used whole for training, and draws no split
        from ``random_state``). Validated as ``X``, ``y`` and ``sample_weight`` are;
        ``X_val`` must have the fitted features and a classifier's ``y_val`` only
        classes of ``classes_`` (ValueError otherwise, the model left unchanged). With
        ``early_stopping=True`` it is the early-stopping set. Without early stopping it
        is only monitored: ``validation_scores_``, ``validation_loss_curve_`` and
        ``best_validation_score_`` are recorded at every epoch (also by
        ``partial_fit``) and do not change training. solver='lbfgs' ignores it (as it
        ignores ``early_stopping``). Not in scikit-learn.
    restore_best_weights : bool, default=True
        With ``early_stopping=True``, whether training ends with the weights of the
        epoch of the best validation score (True, what scikit-learn always does) or
        keeps those of the last epoch run (False). Ignored without early stopping.
    negative_slope : float, default=0.01
        The slope ``s`` of 'leaky_relu' for negative inputs, in [0, 1) (PyTorch's
        ``negative_slope``). Ignored by the other activations.
"""

_COMMON_ATTRS_DOC = """
    loss_ : float
        The current loss computed with the loss function.
    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting.
    loss_curve_ : list of shape (n_iter_,)
        The loss at the end of each training step (stochastic solvers).
    learning_rate_curve_ : list of shape (n_iter_,)
        The learning rate of each epoch (stochastic solvers), as the ``learning_rate``
        schedule set it: one entry per entry of ``loss_curve_``. For solver='adam' it
        is the step size before Adam's bias correction. Not in scikit-learn.
    validation_scores_ : list of shape (n_iter_,) or None
        The score on the held-out validation set at each iteration (early_stopping, or
        ``validation_data`` given); None otherwise.
    validation_loss_curve_ : list of shape (n_iter_,) or None
        With ``early_stopping=True`` or ``validation_data`` (stochastic solvers), the
        loss on the held-out validation set at the end of each epoch, on the same scale
        as ``loss_curve_`` so that the two curves can be drawn and compared directly;
        ``None`` otherwise (not set by ``solver='lbfgs'``), like ``validation_scores_``.
        Entry ``i`` is computed at the weights ``W`` reached at the end of epoch ``i``
        (not the best weights that early stopping returns) as

        ``sum_v s_v * l(y_v, p_v) / sum_v s_v + alpha / 2 * ||W||^2 * c_i``

        where ``v`` runs over the validation samples, ``s_v`` are their sample weights
        (all 1 without ``sample_weight``), ``l`` is the per-sample loss that training
        minimizes (summed over outputs: log-loss, half squared error or half Poisson
        deviance, with the same clipping of probabilities), ``p_v`` the network's output,
        ``||W||^2`` the sum of squares of all ``coefs_`` entries (not the intercepts), and
        ``c_i`` the per-sample scale the L2 term has in ``loss_curve_[i]``: the mean over
        the epoch's mini-batches, weighted by their numbers of rows, of
        ``1 / (sum of the batch's sample weights)``. Without sample weights ``c_i`` is
        (number of mini-batches) / (number of training samples), which is
        ``1 / batch_size`` when every mini-batch is full. A plain held-out L2 term
        ``alpha / 2 * ||W||^2 / sum_v s_v`` would instead change with the size of the
        validation set and could not be compared with the training curve. Not in
        scikit-learn (its issue 18507).
    best_validation_score_ : float or None
        The best validation score (early_stopping, or ``validation_data`` given).
    t_ : int
        The number of training samples seen by the solver during fitting.
    coefs_ : list of shape (n_layers - 1,)
        coefs_[i] is the weight matrix of layer i, of shape (fan_in, fan_out).
    intercepts_ : list of shape (n_layers - 1,)
        intercepts_[i] is the bias vector of layer i + 1.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string feature names.
    n_iter_ : int
        The number of iterations the solver has run.
    n_layers_ : int
        Number of layers.
    n_outputs_ : int
        Number of outputs.
    out_activation_ : str
        Name of the output activation function: 'softmax', 'logistic', 'sparsemax' or
        'sparsemax_binary' (classifier), 'identity' or 'exp' (regressor).
    n_params_ : int
        The number of parameters of the network: every weight and every bias, over all
        layers (set by fit and partial_fit).
"""


_CLASSIFIER_PARAMS_DOC = """    loss : {'log_loss', 'sparsemax'}, default='log_loss'
        The output map and loss. 'log_loss' (scikit-learn's): softmax and cross-entropy for
        multiclass targets, logistic and binary cross-entropy for binary and multilabel ones.
        'sparsemax' (Martins & Astudillo, 2016): multiclass probabilities
        ``p = sparsemax(z) = max(z - tau(z), 0)``, the Euclidean projection of the scores ``z``
        on the probability simplex (``tau(z)`` makes the row sum to 1), trained with the
        sparsemax loss ``-z_y + 1/2 * sum_{j in S(z)} (z_j**2 - tau(z)**2) + 1/2`` (``S(z)``
        the classes with ``p_j > 0``), whose gradient is ``p - onehot(y)``. For binary and
        multilabel targets each output is the 2-class sparsemax of ``(0, z)``,
        ``p = clip((z + 1) / 2, 0, 1)``, with the same loss. Sparsemax probabilities have exact
        zeros: :meth:`predict_proba` returns them, :meth:`predict_log_proba` gives ``-inf``
        there.
    label_smoothing : float, default=0.0
        In [0, 1). Trains towards smoothed targets: ``(1 - label_smoothing) * onehot(y) +
        label_smoothing / n_classes`` for multiclass targets (as PyTorch's
        ``CrossEntropyLoss(label_smoothing=...)``), ``y * (1 - label_smoothing) +
        label_smoothing / 2`` per output for binary and multilabel ones (as Keras's
        ``binary_crossentropy``); with either loss. ``loss_curve_`` and ``loss_`` report the
        loss against the smoothed targets.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` (so the loss and its
        gradient are the sample-weighted means), as in scikit-learn's linear classifiers:
        a dict maps class labels to weights (classes it leaves out weigh 1); 'balanced' gives
        ``n_samples / (n_classes * np.bincount(y))``, computed with
        :func:`sklearn.utils.class_weight.compute_class_weight` on the ``y`` passed to
        ``fit`` (with ``sample_weight``, its weighted equivalent, as
        ``LogisticRegression``). Under early stopping the held-out samples keep their class
        weights in the validation score. With 'balanced', ``partial_fit`` is not available (an
        ``AttributeError`` with ``SGDClassifier``'s explanation: compute the weights on a
        large enough sample with ``compute_class_weight`` and pass them as a dict);
        multilabel targets refuse any class weights (use ``sample_weight``).
"""


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    __doc__ = (
        """Multi-layer Perceptron classifier, a drop-in replacement for scikit-learn's.

    Optimizes the log-loss (or the sparsemax loss) with L-BFGS, SGD or Adam; forward,
    backward and update passes run in fastmlp's C++ core.

    Parameters
    ----------"""
        + _COMMON_PARAMS_DOC
        + _CLASSIFIER_PARAMS_DOC
        + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output."""
        + _COMMON_ATTRS_DOC
        + """
    Examples
    --------
    >>> from fastmlp import MLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> clf = MLPClassifier(random_state=1, max_iter=300).fit(X, y)
    >>> clf.predict_proba(X[:1]).shape
    (1, 2)
    """
    )

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        n_jobs=None,
        dropout=0.0,
        weight_decay=0.0,
        max_grad_norm=None,
        lr_warmup_epochs=0,
        lr_min=0.0,
        lr_step_size=50,
        lr_gamma=0.1,
        init="glorot_uniform",
        validation_data=None,
        restore_best_weights=True,
        negative_slope=0.01,
        loss="log_loss",
        label_smoothing=0.0,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            n_jobs=n_jobs,
            dropout=dropout,
            weight_decay=weight_decay,
            max_grad_norm=max_grad_norm,
            lr_warmup_epochs=lr_warmup_epochs,
            lr_min=lr_min,
            lr_step_size=lr_step_size,
            lr_gamma=lr_gamma,
            init=init,
            validation_data=validation_data,
            restore_best_weights=restore_best_weights,
            negative_slope=negative_slope,
        )
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"log_loss", "sparsemax"})],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def _loss_out_activation(self):
        """The output activation this loss and the fitted kind of target need."""
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        if self.loss == "sparsemax":
            return "sparsemax" if multiclass else "sparsemax_binary"
        return "softmax" if multiclass else "logistic"

    def _output_code(self):
        return _OUTPUT_ACTIVATIONS[self.out_activation_]

    def _loss_params(self):
        return {"label_smoothing": float(self.label_smoothing)}

    def _with_class_weight(self, sample_weight, X, y):
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError(
                "class_weight is not supported for multilabel targets (y is a label indicator "
                f"matrix), got class_weight={self.class_weight!r}. Weight the samples with "
                "sample_weight instead."
            )
        # y is the binarized target: one-hot rows (multiclass) or one 0/1 column (binary)
        index = np.argmax(y, axis=1) if y.shape[1] > 1 else y[:, 0].astype(np.intp)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if isinstance(self.class_weight, str):  # 'balanced'
                totals = np.bincount(index, weights=sample_weight, minlength=len(self.classes_))
                if np.any(totals <= 0):
                    raise ValueError(
                        "class_weight='balanced' weighs each class by the inverse of its total "
                        "sample weight, but the class(es) "
                        f"{self.classes_[totals <= 0].tolist()!r} have a total sample weight "
                        "of 0 in this fit."
                    )
        # 'balanced' counts the classes with the sample weights, as LogisticRegression does:
        # weighting a sample by 2 and repeating it give the same weights
        weights = compute_class_weight(
            self.class_weight,
            classes=self.classes_,
            y=self.classes_[index],
            sample_weight=sample_weight,
        )
        weights = np.asarray(weights, dtype=np.float64)[index]
        if sample_weight is not None:
            # as if the user had passed the product: one rounding to the model's dtype, later
            weights = weights * sample_weight
        return weights

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validated_fit_input(X, y, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = _fit_label_binarizer(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            fitted_kind = self._label_binarizer.y_type_
            classes = None
            if _plain_integer_labels(y):
                # type_of_target's and unique_labels' answers for 1-D integers from one unique
                # pass (theirs scan y again and again: ~0.5 ms of a 32-row partial_fit)
                classes = _unique_integers(y)
                given_kind = _integer_target_kind(classes)
            else:
                given_kind = type_of_target(y)
            if fitted_kind.startswith("multilabel") != given_kind.startswith("multilabel"):
                raise ValueError(
                    f"The model was fitted on a {fitted_kind} target, but this call's `y` is "
                    f"{given_kind}: warm_start and partial_fit cannot switch between "
                    "multilabel and single-label targets. Fit a new estimator (or set "
                    "warm_start=False) to change the kind of target."
                )
            if classes is None:
                classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif _has_unseen_classes(classes, self.classes_):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        y = _binarize_labels(self._label_binarizer, y)
        return X, y

    def _validation_targets(self, y_val):
        return self._label_binarizer.inverse_transform(y_val)

    def _validate_held_out(self, X_val, y_val):
        """validation_data's X_val and y_val validated as fit validates X and y, against the
        fitted features and classes; y_val binarized."""
        X_val, y_val = validate_data(
            self,
            X_val,
            y_val,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=False,
        )
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        fitted_kind = self._label_binarizer.y_type_
        given_kind = type_of_target(y_val)
        if fitted_kind.startswith("multilabel") != given_kind.startswith("multilabel"):
            raise ValueError(
                f"The model is fitted on a {fitted_kind} target, but validation_data's "
                f"`y_val` is {given_kind}."
            )
        classes = unique_labels(y_val)
        if len(np.setdiff1d(classes, self.classes_)) or (
            fitted_kind.startswith("multilabel") and len(classes) != len(self.classes_)
        ):
            raise ValueError(
                "validation_data's `y_val` has classes not in `self.classes_`. "
                f"`self.classes_` has {self.classes_}. 'y_val' has {classes}."
            )
        return X_val, _binarize_labels(self._label_binarizer, y_val)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        self._check_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        return self._prediction_from_output(self._forward_pass_fast(X, check_input=check_input))

    def _prediction_from_output(self, y_pred):
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return _labels_from_output(self._label_binarizer, y_pred)

    def _score(self, X, y, sample_weight=None, output=None):
        return super()._score_with_function(
            X, y, sample_weight=sample_weight, score_function=accuracy_score, output=output
        )

    def _check_class_weight_for_partial_fit(self):
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            # scikit-learn's SGDClassifier's words (it raises them as a ValueError from
            # partial_fit; here partial_fit is unavailable, as under solver='lbfgs')
            raise AttributeError(
                "class_weight '{0}' is not supported for "
                "partial_fit. In order to use 'balanced' weights,"
                " use compute_class_weight('{0}', "
                "classes=classes, y=y). "
                "In place of y you can use a large enough sample "
                "of the full training set target to properly "
                "estimate the class frequency distributions. "
                "Pass the resulting weights as the class_weight "
                "parameter.".format(self.class_weight)
            )
        return True

    @available_if(lambda est: est._check_solver() and est._check_class_weight_for_partial_fit())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first call.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._validate_loss_params()
        with _unchanged_on_error(self):
            if _check_partial_fit_first_call(self, classes):
                with np.errstate(invalid="ignore"):  # NaN in y: refused by validation below
                    multilabel = type_of_target(y).startswith("multilabel")
                self._label_binarizer = _fit_label_binarizer(y if multilabel else classes)
            return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Computed from the network's raw output scores (log-sum-exp for softmax,
        ``-log(1 + exp(-z))`` for logistic outputs), so it stays finite where the
        probability itself rounds to 0. With ``loss='sparsemax'`` it is the log of
        :meth:`predict_proba`, ``-inf`` where a probability is exactly 0.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The predicted log-probability of the sample for each class.
        """
        self._check_fitted()
        if self.out_activation_ in ("sparsemax", "sparsemax_binary"):
            with np.errstate(divide="ignore"):  # log(0) = -inf: sparsemax's exact zeros
                return np.log(self.predict_proba(X))
        z = self._forward_pass_fast(X, output="identity")
        if self.out_activation_ == "softmax":
            z_max = z.max(axis=1, keepdims=True)
            shifted = np.subtract(z, z_max, out=z)
            return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        # logistic: log p = -log(1 + e^-z), log(1 - p) = -log(1 + e^z)
        log_p = -np.logaddexp(0, -z)
        if self.n_outputs_ == 1:
            return np.hstack([-np.logaddexp(0, z), log_p])
        return log_p

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of the sample for each class, in the order of
            `classes_`. With ``loss='sparsemax'``, sparse: rows sum to 1 (multiclass and
            binary) and classes outside the sparsemax support get exactly 0.
        """
        self._check_fitted()
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    __doc__ = (
        """Multi-layer Perceptron regressor, a drop-in replacement for scikit-learn's.

    Minimizes ``0.5 * sum over outputs of mean (y - p)**2`` (loss='squared_error') or
    another loss below with L-BFGS, SGD or Adam.

    Parameters
    ----------
    loss : str, default='squared_error'
        The loss function to use when training the weights: 'squared_error',
        'absolute_error', 'huber', 'poisson', 'gamma' or 'quantile'. With ``p`` the prediction and
        ``r = p - y``, the objective is the sum over outputs of the (sample-weighted) mean
        over samples of:

        - 'squared_error': ``r**2 / 2`` (identity output);
        - 'absolute_error': ``|r|`` (identity output), gradient ``sign(r)``, 0 at ``r = 0``;
        - 'huber': ``r**2 / 2`` where ``|r| <= huber_delta``, else
          ``huber_delta * (|r| - huber_delta / 2)`` (identity output), gradient
          ``clip(r, -huber_delta, huber_delta)`` (PyTorch's ``HuberLoss(delta)``);
        - 'poisson': the half Poisson deviance ``y log(y / p) - y + p`` (exponential output,
          ``log`` link), needs ``y >= 0``;
        - 'gamma': the half gamma deviance ``log(p / y) + y / p - 1`` (exponential output,
          ``log`` link), needs ``y > 0``;
        - 'quantile': the pinball loss ``max(q * (y - p), (q - 1) * (y - p))`` with
          ``q = quantile`` (identity output), whose minimiser is the ``q``-quantile of ``y``
          given ``X``. Its gradient in ``p`` is ``1 - q`` where ``p > y`` and ``-q`` where
          ``p < y``; at ``p = y`` fastmlp takes 0, the subgradient of least magnitude (as
          ``sign(0) = 0`` for 'absolute_error', which is twice the ``q = 0.5`` pinball
          loss)."""
        + _COMMON_PARAMS_DOC
        + """    huber_delta : float, default=1.0
        The threshold of loss='huber' between its quadratic and linear parts, > 0.
        (``epsilon`` is Adam's; scikit-learn's ``SGDRegressor`` calls this one epsilon.)
    quantile : float, default=0.5
        The quantile that loss='quantile' estimates, in (0, 1).
"""
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRS_DOC
        + """
    Examples
    --------
    >>> from fastmlp import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, random_state=1)
    >>> reg = MLPRegressor(random_state=1, max_iter=2000, tol=0.1).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """
    )

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions(set(_REGRESSION_LOSSES))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
    }

    def _loss_out_activation(self):
        """The output activation this loss needs."""
        return _REGRESSION_LOSSES[self.loss][0]

    def _output_code(self):
        return _REGRESSION_LOSSES[self.loss][1]

    def _loss_params(self):
        return {"huber_delta": float(self.huber_delta), "quantile": float(self.quantile)}

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        n_jobs=None,
        dropout=0.0,
        weight_decay=0.0,
        max_grad_norm=None,
        lr_warmup_epochs=0,
        lr_min=0.0,
        lr_step_size=50,
        lr_gamma=0.1,
        init="glorot_uniform",
        validation_data=None,
        restore_best_weights=True,
        negative_slope=0.01,
        huber_delta=1.0,
        quantile=0.5,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            n_jobs=n_jobs,
            dropout=dropout,
            weight_decay=weight_decay,
            max_grad_norm=max_grad_norm,
            lr_warmup_epochs=lr_warmup_epochs,
            lr_min=lr_min,
            lr_step_size=lr_step_size,
            lr_gamma=lr_gamma,
            init=init,
            validation_data=validation_data,
            restore_best_weights=restore_best_weights,
            negative_slope=negative_slope,
        )
        self.huber_delta = huber_delta
        self.quantile = quantile

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        self._check_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        return self._prediction_from_output(self._forward_pass_fast(X, check_input=check_input))

    def _prediction_from_output(self, y_pred):
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, X, y, sample_weight=None, output=None):
        return super()._score_with_function(
            X, y, sample_weight=sample_weight, score_function=r2_score, output=output
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validated_fit_input(X, y, reset, y_numeric=True)
        if y.dtype.kind not in "biuf":
            # scikit-learn would fail later in the loss with a ufunc type error
            raise ValueError(
                f"MLPRegressor needs numeric targets, but y has dtype {y.dtype} (values such "
                f"as {y.ravel()[0]!r})."
            )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson "
                "regression (loss='poisson')."
            )
        if self.loss == "gamma" and np.any(y <= 0):
            raise ValueError(
                "Some value(s) of y are zero or negative which is not allowed for Gamma "
                "regression (loss='gamma'), whose targets must be strictly positive."
            )
        return X, y

    def _validation_targets(self, y_val):
        return y_val

    def _validate_held_out(self, X_val, y_val):
        """validation_data's X_val and y_val validated as fit validates X and y, against the
        fitted features."""
        return self._validate_input(X_val, y_val, incremental=True, reset=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._validate_loss_params()
        with _unchanged_on_error(self):
            return self._fit(X, y, sample_weight=sample_weight, incremental=True)
