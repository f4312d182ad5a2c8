"""Scale-out on dask, against a real LocalCluster whose two workers are separate processes.

- dask_ml.wrappers.Incremental trains through partial_fit over the blocks of a dask array and
  gives the very model a local partial_fit loop over the same blocks gives;
- GridSearchCV under joblib's dask backend fits on the workers and finds what n_jobs=1 finds;
- a model crosses process boundaries by pickle both ways and predicts the same bits;
- OpenMP in the worker processes: one thread by default (dask sets OMP_NUM_THREADS=1 before it
  starts a worker), and an oversubscribed n_jobs neither hangs nor changes the result.

Runs once (conftest: MODULES_THAT_PICK_THEIR_OWN_PATH), on the default kernel path, which is
also the path the workers pick: the comparisons are between the same kernels in two processes.
"""

import logging
import os
import sys
import warnings

import dask.array as da
import joblib
import numpy as np
import pytest
from dask_ml.wrappers import Incremental
from distributed import Client, LocalCluster, get_task_stream
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV

from fastmlp import MLPClassifier, MLPRegressor, _core

N_BLOCKS = 8
BLOCK_ROWS = 100


@pytest.fixture(scope="module")
def client():
    """Two worker processes with one thread each; closed however the module's tests end."""
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        with Client(cluster) as c:
            yield c
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def worker_pids(client):
    """{worker address: process id}"""
    return client.run(os.getpid)


def _classification(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((N_BLOCKS * BLOCK_ROWS, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    return X, y


def _regression(seed=1):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((N_BLOCKS * BLOCK_ROWS, 6))
    y = X @ rng.standard_normal(6) + 0.1 * np.sin(3 * X[:, 0])
    return X, y


def _blocks(X, y):
    return da.from_array(X, chunks=(BLOCK_ROWS, X.shape[1])), da.from_array(y, chunks=BLOCK_ROWS)


def _assert_same_model(a, b):
    assert type(a) is type(b)
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert_array_equal(x, y, strict=True)
    assert a.n_iter_ == b.n_iter_ and a.t_ == b.t_ and a.loss_ == b.loss_
    assert getattr(a, "loss_curve_", None) == getattr(b, "loss_curve_", None)  # none for lbfgs


def test_workers_run_this_fastmlp(client, worker_pids):
    """The worker processes are not this one, and import the fastmlp under test."""
    here = (sys.executable, MLPClassifier.__module__, sys.modules["fastmlp"].__file__)
    there = client.run(
        lambda: (sys.executable, MLPClassifier.__module__, sys.modules["fastmlp"].__file__)
    )
    assert len(there) == 2
    assert set(there.values()) == {here}
    assert len(set(worker_pids.values())) == 2 and os.getpid() not in worker_pids.values()


# ------------------------------------------------------------------- Incremental
def test_incremental_classifier_equals_local_partial_fit_loop(client, worker_pids):
    X, y = _classification()
    Xd, yd = _blocks(X, y)
    classes = np.unique(y)
    est = MLPClassifier(hidden_layer_sizes=(16,), batch_size=32, random_state=0, n_jobs=1)
    local = clone(est)

    def local_epoch():
        for i in range(N_BLOCKS):
            rows = slice(i * BLOCK_ROWS, (i + 1) * BLOCK_ROWS)
            local.partial_fit(X[rows], y[rows], classes=classes)

    # shuffle_blocks=False: blocks in order, as the local loop takes them (the default shuffles
    # them with Incremental's own random_state)
    inc = Incremental(est, scoring="accuracy", shuffle_blocks=False)
    with get_task_stream(client) as stream:
        inc.fit(Xd, yd, classes=classes)  # a fresh clone of est, one pass over the blocks
        local_epoch()
        assert isinstance(inc.estimator_, MLPClassifier)
        _assert_same_model(inc.estimator_, local)
        inc.partial_fit(Xd, yd, classes=classes)  # a second pass, from estimator_
        local_epoch()
    assert len(inc.estimator_.loss_curve_) == 2 * N_BLOCKS  # one entry per partial_fit
    _assert_same_model(inc.estimator_, local)
    assert_array_equal(inc.classes_, classes)

    # every partial_fit step ran as a task on a worker
    # (task keys ("fit-<token>", i): i = -1 holds the unfitted model, i >= 0 is step i)
    steps = [t for t in stream.data if t["key"][0].startswith("fit-") and t["key"][1] >= 0]
    assert len(steps) == 2 * N_BLOCKS
    assert {t["worker"] for t in steps} <= set(worker_pids)

    pred = inc.predict(Xd)
    proba = inc.predict_proba(Xd)
    assert isinstance(pred, da.Array) and isinstance(proba, da.Array)
    assert_array_equal(pred.compute(), local.predict(X), strict=True)
    assert_array_equal(proba.compute(), local.predict_proba(X), strict=True)
    # accuracy is a count over the rows: the same number whichever way it is summed
    assert inc.score(Xd, yd) == local.score(X, y)


def test_incremental_regressor_equals_local_partial_fit_loop(client):
    X, y = _regression()
    Xd, yd = _blocks(X, y)
    est = MLPRegressor(hidden_layer_sizes=(16,), batch_size=32, random_state=0, n_jobs=1)

    # scoring="neg_mean_squared_error": dask_ml's r2 fails on this dask (test below)
    inc = Incremental(est, scoring="neg_mean_squared_error", shuffle_blocks=False).fit(Xd, yd)

    local = clone(est)
    for i in range(N_BLOCKS):
        rows = slice(i * BLOCK_ROWS, (i + 1) * BLOCK_ROWS)
        local.partial_fit(X[rows], y[rows])

    assert isinstance(inc.estimator_, MLPRegressor)
    _assert_same_model(inc.estimator_, local)
    pred = inc.predict(Xd)
    assert isinstance(pred, da.Array)
    assert_array_equal(pred.compute(), local.predict(X), strict=True)
    # dask_ml averages the squared errors block by block, numpy pairwise over the whole array:
    # the two means of the same numbers differ only in rounding
    local_mse = np.mean((y - local.predict(X)) ** 2)
    assert_allclose(inc.score(Xd, yd), -local_mse, rtol=1e-12)
    # R^2 from the wrapper's predictions in plain dask (the README's route round the test below)
    r2 = 1 - ((yd - pred) ** 2).sum() / ((yd - yd.mean()) ** 2).sum()
    assert_allclose(r2.compute(), local.score(X, y), rtol=1e-12)


@pytest.mark.xfail(
    raises=ValueError,
    strict=True,  # when dask_ml's r2 works again this fails: then drop the README's caveat
    reason="dask_ml 2025.1's r2_score assigns through a boolean mask of unknown length, which "
    "dask 2026.8 refuses: 'cannot broadcast shape (nan,) to shape (nan,)' (any input, any model)",
)
def test_incremental_regressor_r2_scoring(client):
    """scoring="r2", which is also what Incremental.score uses for a regressor by default."""
    X, y = _regression()
    Xd, yd = _blocks(X, y)
    inc = Incremental(
        MLPRegressor(hidden_layer_sizes=(16,), random_state=0, n_jobs=1),
        scoring="r2",
        shuffle_blocks=False,
    ).fit(Xd, yd)
    assert_allclose(inc.score(Xd, yd), inc.estimator_.score(X, y), rtol=1e-12)


# ------------------------------------------------------------------- GridSearchCV
def test_grid_search_on_dask_backend_equals_local(client, worker_pids):
    X, y = _classification(seed=2)
    X, y = X[:480], y[:480]

    def score_and_where(estimator, X_test, y_test):
        # run by _fit_and_score in the process that fitted `estimator`; shipped to the workers
        # by value (cloudpickle), as it is local to this test
        return {
            # a continuous score: equal scores mean equal predicted probabilities
            "score": -log_loss(y_test, estimator.predict_proba(X_test)),
            "pid": os.getpid(),
            "fastmlp": float(type(estimator) is MLPClassifier),
        }

    est = MLPClassifier(max_iter=15, random_state=0, n_jobs=1)
    grid = {"hidden_layer_sizes": [(4,), (16,)], "alpha": [1e-4, 1.0]}

    def search(n_jobs):
        return GridSearchCV(
            est, grid, cv=3, scoring=score_and_where, refit="score", n_jobs=n_jobs,
            error_score="raise",
        )

    with warnings.catch_warnings():
        # max_iter=15 keeps the test short (the refits run here; the workers' warnings stay there)
        warnings.simplefilter("ignore", ConvergenceWarning)
        with joblib.parallel_backend("dask"):
            remote = search(-1).fit(X, y)
        local = search(1).fit(X, y)

    # every fit ran in a worker process, and both workers took some: joblib hands the cluster
    # several batches at once and each idle worker is given one
    pids = np.concatenate([remote.cv_results_[f"split{k}_test_pid"] for k in range(3)])
    assert pids.size == 3 * 4
    assert set(pids.astype(int).tolist()) == set(worker_pids.values())
    local_pids = np.concatenate([local.cv_results_[f"split{k}_test_pid"] for k in range(3)])
    assert set(local_pids.astype(int).tolist()) == {os.getpid()}
    assert np.all(remote.cv_results_["mean_test_fastmlp"] == 1.0)

    assert remote.best_params_ == local.best_params_
    assert remote.best_index_ == local.best_index_
    for key in ["mean_test_score", "std_test_score", "rank_test_score"] + [
        f"split{k}_test_score" for k in range(3)
    ]:
        assert_array_equal(remote.cv_results_[key], local.cv_results_[key], strict=True)
    # the scores differ between candidates, so best_params_ is a real choice
    assert len(set(local.cv_results_["mean_test_score"])) == 4
    assert isinstance(remote.best_estimator_, MLPClassifier)
    _assert_same_model(remote.best_estimator_, local.best_estimator_)


# ------------------------------------------------------------------- pickling across processes
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_model_crosses_processes(client, Estimator, dtype):
    X, y = _classification(seed=3) if Estimator is MLPClassifier else _regression(seed=3)
    X = X.astype(dtype)
    est = Estimator(hidden_layer_sizes=(8, 8), max_iter=20, random_state=0, n_jobs=1, tol=0)

    with pytest.warns(ConvergenceWarning):  # max_iter=20 and tol=0: stops at 20 epochs
        local = clone(est).fit(X, y)
    # fitted on a worker, pickled back to this process
    remote = client.submit(Estimator.fit, clone(est), X, y, pure=False).result()
    assert remote is not local
    _assert_same_model(remote, local)
    assert_array_equal(remote.predict(X), local.predict(X), strict=True)
    # fitted here, pickled to a worker, predicting there
    there = client.submit(Estimator.predict, local, X, pure=False).result()
    assert_array_equal(there, local.predict(X), strict=True)


# ------------------------------------------------------------------- OpenMP in worker processes
def test_openmp_in_worker_processes(client):
    """dask starts each worker with OMP_NUM_THREADS=1, so n_jobs=None means one thread there;
    n_jobs=2 on both workers at once (4 threads on this 2-core machine) neither hangs nor
    changes a bit of the result (fastmlp sums in a fixed order for any thread count)."""
    assert set(client.run(_core.max_threads).values()) == {1}

    rng = np.random.RandomState(4)
    X = rng.standard_normal((400, 32))
    y = (X[:, :3].sum(axis=1) > 0).astype(np.int64)
    # 400 x (32*256 + 256*256 + 256*1) = 30M multiply-adds a step: enough to wake a second thread
    est = MLPClassifier(
        hidden_layer_sizes=(256, 256), batch_size=400, max_iter=3, random_state=0, tol=0
    )
    with pytest.warns(ConvergenceWarning):
        local = clone(est).set_params(n_jobs=1).fit(X, y)
    workers = list(client.scheduler_info()["workers"])
    futures = [
        client.submit(MLPClassifier.fit, clone(est).set_params(n_jobs=n_jobs), X, y,
                      pure=False, workers=[w])
        for w in workers
        for n_jobs in (None, 2)
    ]
    for model in client.gather(futures):
        _assert_same_model(model, local)
