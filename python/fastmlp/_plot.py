"""LossCurveDisplay: the training curves of a fitted MLP, drawn with matplotlib.

matplotlib is imported only when something is drawn (optional extra ``plot``).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

_INSTALL_HINT = 'pip install "fastmlp[plot]"'


def _require_matplotlib(caller):
    """Import matplotlib's pyplot, or raise an ImportError that says how to install it."""
    try:
        from sklearn.utils._optional_dependencies import check_matplotlib_support
    except ImportError:  # a private helper: fall back to importing matplotlib ourselves
        check_matplotlib_support = None
    try:
        if check_matplotlib_support is not None:
            check_matplotlib_support(caller)
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, which is not installed. Install it with: "
            f"{_INSTALL_HINT}"
        ) from exc
    return plt


class LossCurveDisplay:
    """Loss curves of a multi-layer perceptron: training loss, validation loss and score.

    Draws, against the epoch number, the training loss (``loss_curve_``) and, when the
    model was fitted with ``early_stopping=True`` or ``validation_data``, the validation loss
    (``validation_loss_curve_``) on the same axes and the validation score
    (``validation_scores_``) on a second y-axis to the right. Use
    :meth:`from_estimator` to draw a fitted estimator's curves; build the display from
    the curves themselves to draw any others.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        The training loss at each epoch.
    validation_scores : array-like of shape (n_epochs,), default=None
        The score on the held-out validation set at each epoch; drawn on a twin y-axis.
    validation_loss_curve : array-like of shape (n_epochs,), default=None
        The loss on the held-out validation set at each epoch, on the scale of
        ``loss_curve``; drawn on the same axes.
    estimator_name : str, default=None
        Name of the estimator, put before each curve's legend label.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the loss curves.
    ax_score_ : matplotlib Axes or None
        The twin axes of the validation score, or None when there is no score curve.
    figure_ : matplotlib Figure
        Figure holding the axes.
    line_ : matplotlib Line2D
        The training loss curve.
    lines_ : dict of str to matplotlib Line2D
        Every curve drawn, under the keys ``"loss"``, ``"validation_loss"`` and
        ``"validation_score"`` (the last two only when drawn).

    See Also
    --------
    MLPClassifier : The classifier whose curves this draws.
    MLPRegressor : The regressor whose curves this draws.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from fastmlp import LossCurveDisplay, MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(early_stopping=True, random_state=0).fit(X / 16, y)
    >>> display = LossCurveDisplay.from_estimator(clf)
    >>> sorted(display.lines_)
    ['loss', 'validation_loss', 'validation_score']
    """

    def __init__(
        self, loss_curve, validation_scores=None, validation_loss_curve=None, estimator_name=None
    ):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.validation_loss_curve = validation_loss_curve
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw the losses on; the validation score gets a twin of it. None
            creates a new figure and axes.
        name : str, default=None
            Name put before each curve's legend label; None uses ``estimator_name``.
        **kwargs : dict
            Keyword arguments passed to matplotlib's ``plot`` for every curve (for example
            ``linewidth`` or ``color`` to tell estimators apart on shared axes); they
            override the display's own styles.

        Returns
        -------
        display : LossCurveDisplay
            Object that stores the matplotlib objects drawn.
        """
        plt = _require_matplotlib(f"{type(self).__name__}.plot")
        if ax is None:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        prefix = "" if name is None else f"{name}: "

        def draw(axes, values, label, style):
            values = np.asarray(values, dtype=np.float64).ravel()
            epochs = np.arange(1, values.shape[0] + 1)
            (line,) = axes.plot(epochs, values, **{"label": prefix + label, **style, **kwargs})
            return line

        lines = {"loss": draw(ax, self.loss_curve, "training loss", {"color": "C0"})}
        if self.validation_loss_curve is not None:
            lines["validation_loss"] = draw(
                ax, self.validation_loss_curve, "validation loss",
                {"color": "C1", "linestyle": "--"},
            )
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Loss")

        ax_score = None
        if self.validation_scores is not None:
            ax_score = ax.twinx()
            lines["validation_score"] = draw(
                ax_score, self.validation_scores, "validation score",
                {"color": "C2", "linestyle": ":"},
            )
            ax_score.set_ylabel("Validation score")

        handles = list(lines.values())
        ax.legend(handles, [line.get_label() for line in handles], loc="best")
        self.ax_ = ax
        self.ax_score_ = ax_score
        self.figure_ = ax.figure
        self.line_ = lines["loss"]
        self.lines_ = lines
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Draw the curves recorded by a fitted MLPClassifier or MLPRegressor.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            A model fitted with a stochastic solver ('sgd' or 'adam'), which records
            ``loss_curve_`` (and, with early stopping or validation_data,
            ``validation_scores_`` and
            ``validation_loss_curve_``). scikit-learn's MLP estimators work too (they
            record no validation loss).
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        name : str, default=None
            Name put before each curve's legend label; None uses the estimator's class
            name.
        **kwargs : dict
            Keyword arguments passed to matplotlib's ``plot`` for every curve.

        Returns
        -------
        display : LossCurveDisplay
            Object that stores the matplotlib objects drawn.

        Raises
        ------
        NotFittedError
            When the estimator is not fitted.
        ValueError
            When the estimator recorded no loss curve (``solver='lbfgs'``).
        """
        _require_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        loss_curve = getattr(estimator, "loss_curve_", None)
        if loss_curve is None:
            raise ValueError(
                f"{type(estimator).__name__} has no loss_curve_: only the stochastic solvers "
                f"('sgd', 'adam') record one, and this model was fitted with "
                f"solver={getattr(estimator, 'solver', None)!r}."
            )
        display = cls(
            loss_curve=loss_curve,
            validation_scores=getattr(estimator, "validation_scores_", None),
            validation_loss_curve=getattr(estimator, "validation_loss_curve_", None),
            estimator_name=type(estimator).__name__ if name is None else name,
        )
        return display.plot(ax=ax, **kwargs)
