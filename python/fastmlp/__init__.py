"""fastmlp: scikit-learn's MLPClassifier and MLPRegressor, trained and served by a C++ core."""

from ._multilayer_perceptron import MLPClassifier, MLPRegressor

__version__ = "0.1.0"
__all__ = ["MLPClassifier", "MLPRegressor", "__version__"]
