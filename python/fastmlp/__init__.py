"""fastmlp: scikit-learn's MLPClassifier and MLPRegressor, trained and served by a C++ core."""

from . import _config
from ._config import config, show_config
from ._multilayer_perceptron import MLPClassifier, MLPRegressor
from ._onnx import to_onnx
from ._plot import LossCurveDisplay

__version__ = "0.1.0"
__all__ = [
    "LossCurveDisplay", "MLPClassifier", "MLPRegressor", "config", "show_config", "to_onnx",
    "__version__",
]

_config.apply_environment()
