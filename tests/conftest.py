"""Shared test set-up: every test runs on every ISA path this machine has.

The kernel set is chosen per test by the autouse `kernel_path` fixture; tests that pick paths
themselves (test_gemm.py and test_optimizer_step.py, which name the ISA in each call;
test_memory_growth.py, whose child process rotates through every path; test_properties.py, which
draws the path with the rest of each example; test_build.py, which checks the built module and
picks paths by FASTMLP_ARCH) run once, and so do the input validation tests of test_hostile_input.py (what they check happens
before any kernel runs; the numerics, thread and estimator tests cover every path) and the tests
of what does not depend on the kernels: progress bars, plots, examples, ONNX export, dask,
thread control, the PyTorch recording check (test_progress.py, test_plot.py, test_examples.py,
test_onnx.py, test_dask.py, test_thread_control.py, test_torch_reference.py).
"""

import collections
import os

import pytest
from hypothesis import settings

import fastmlp
from fastmlp import _core

ALL_PATHS = tuple(_core.available_isas())
# FASTMLP_TEST_PATHS=best runs the tests on the best path only (.ci/wheel --smoke: it tests the
# packaging, the main suite tests every path); unset or "all": every path.
_WANTED = os.environ.get("FASTMLP_TEST_PATHS", "all").strip().lower() or "all"
if _WANTED not in ("all", "best"):
    raise pytest.UsageError(f"FASTMLP_TEST_PATHS={_WANTED!r}: use 'all' or 'best'")
PATHS_UNDER_TEST = ALL_PATHS if _WANTED == "all" else ALL_PATHS[-1:]
MODULES_THAT_PICK_THEIR_OWN_PATH = (
    "test_build", "test_dask", "test_examples", "test_gemm", "test_hostile_input",
    "test_memory_growth", "test_onnx", "test_plot", "test_progress", "test_properties",
    "test_thread_control", "test_torch_reference", "test_optimizer_step",
)

# Property tests set their own example counts; no deadline, because one example's time depends
# on the machine's load and on instrumentation (.ci/sanitize runs ~6x slower), not on the code.
settings.register_profile("fastmlp", deadline=None, print_blob=True)
settings.load_profile("fastmlp")

_DRAWS = pytest.StashKey[collections.Counter]()


def pytest_configure(config):
    config.stash[_DRAWS] = collections.Counter()


@pytest.fixture(scope="session")
def property_draws(request):
    """Counter of property-test examples by outcome, summed over the session and printed."""
    return request.config.stash[_DRAWS]


def pytest_report_header(config):
    # which fastmlp is under test: .ci/wheel checks that it is the installed wheel
    return [f"fastmlp under test: {os.path.dirname(fastmlp.__file__)}",
            f"fastmlp ISA paths: {', '.join(ALL_PATHS)}; tests run on: "
            f"{', '.join(PATHS_UNDER_TEST)}"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    draws = config.stash[_DRAWS]
    if draws:
        terminalreporter.write_sep("-", f"property-test draws: {sum(draws.values())}")
        for outcome, n in sorted(draws.items()):
            terminalreporter.write_line(f"{n:6d}  {outcome}")


def pytest_generate_tests(metafunc):
    if "kernel_path" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    paths = ("default",) if module in MODULES_THAT_PICK_THEIR_OWN_PATH else PATHS_UNDER_TEST
    metafunc.parametrize("kernel_path", paths, indirect=True)


@pytest.fixture(autouse=True)
def kernel_path(request):
    """Make request.param the active kernel set for the test, then restore the previous one."""
    previous = _core.active_isa()
    if request.param != "default":
        _core.set_isa(request.param)
    yield request.param
    _core.set_isa(previous)
