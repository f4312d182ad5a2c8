"""Thread control as the ecosystem expects it: threadpoolctl sees fastmlp's OpenMP runtime and its
limits bind fit and predict, OMP_NUM_THREADS likewise, and an explicit n_jobs wins.

Whether the core ran threads is read from the process's thread count (/proc/self/task): OpenMP
starts its worker threads on the first parallel region that asks for more than one, and results
are the same bits for any thread count, so the count is the only outward trace. Each case runs in
a fresh interpreter, so no earlier test has started the pool.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import threadpoolctl

from fastmlp import _core

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="threads are counted in /proc/self/task (Linux)"
)

_CHILD = textwrap.dedent("""
    import json, os, sys, warnings
    import numpy as np
    import threadpoolctl
    from fastmlp import MLPClassifier, _core

    def threads():
        return len(os.listdir("/proc/self/task"))

    rng = np.random.RandomState(0)
    X = rng.standard_normal((4000, 64))
    y = (X[:, 0] > 0).astype(int)
    limit, n_jobs = json.loads(sys.argv[1])
    params = dict(hidden_layer_sizes=(256,), max_iter=2, batch_size=2000, random_state=0,
                  n_jobs=n_jobs)
    before = threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if limit is None:
            clf = MLPClassifier(**params).fit(X, y)
            clf.predict_proba(X)
        else:
            with threadpoolctl.threadpool_limits(limits=limit, user_api="openmp"):
                clf = MLPClassifier(**params).fit(X, y)
                clf.predict_proba(X)
    print(json.dumps({"max_threads": _core.max_threads(), "started": threads() - before}))
""")


def _run(limit, n_jobs, **env):
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps([limit, n_jobs])],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def _openmp_libraries_of_core():
    """Real paths of the OpenMP runtime(s) the dynamic linker resolves for _core."""
    out = subprocess.run(["ldd", _core.__file__], capture_output=True, text=True, check=True)
    paths = set()
    for line in out.stdout.splitlines():
        name, _, rest = line.strip().partition(" => ")
        if name.startswith(("libgomp", "libomp", "libiomp")) and rest:
            paths.add(os.path.realpath(rest.split(" (")[0]))
    return paths


def test_threadpoolctl_sees_the_openmp_runtime_the_core_uses():
    """Test threadpoolctl lists, under user_api "openmp", the runtime _core is linked against,
    and that _core itself is not mistaken for one (its name does not start like a runtime's)."""
    core_runtimes = _openmp_libraries_of_core()
    assert core_runtimes, "_core links no OpenMP runtime"
    info = threadpoolctl.threadpool_info()
    seen = {os.path.realpath(i["filepath"]) for i in info if i["user_api"] == "openmp"}
    assert core_runtimes <= seen, (core_runtimes, info)
    assert os.path.realpath(_core.__file__) not in {os.path.realpath(i["filepath"]) for i in info}


def test_threadpoolctl_limit_binds_fit_and_predict():
    """Test fit and predict under threadpool_limits(1, "openmp") start no thread, while the same
    calls without the limit start OpenMP's workers (so the count can tell the two apart)."""
    unlimited = _run(None, None, OMP_NUM_THREADS="2")
    assert unlimited["started"] >= 1
    limited = _run(1, None, OMP_NUM_THREADS="2")
    assert limited["started"] == 0
    assert limited["max_threads"] == 2  # the limit was lifted on leaving the context


def test_omp_num_threads_binds_fit_and_predict():
    """Test OMP_NUM_THREADS=1 keeps fit and predict on one thread and is what n_jobs=None uses."""
    single = _run(None, None, OMP_NUM_THREADS="1")
    assert single == {"max_threads": 1, "started": 0}


def test_explicit_n_jobs_wins_over_the_limit():
    """Test an explicit n_jobs=2 asks for two threads even under a limit of one, as joblib's
    n_jobs does in scikit-learn: the limit governs only n_jobs=None."""
    assert _run(1, 2, OMP_NUM_THREADS="1")["started"] >= 1
    assert _run(1, 1, OMP_NUM_THREADS="2")["started"] == 0
