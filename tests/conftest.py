"""Shared test set-up: every test runs on every ISA path this machine has.

The kernel set is chosen per test by the autouse `kernel_path` fixture; tests that pick paths
themselves (test_gemm.py, which names the ISA in each call) run once.
"""

import pytest

from fastmlp import _core

ALL_PATHS = tuple(_core.available_isas())
MODULES_THAT_PICK_THEIR_OWN_PATH = ("test_gemm",)


def pytest_generate_tests(metafunc):
    if "kernel_path" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    paths = ("default",) if module in MODULES_THAT_PICK_THEIR_OWN_PATH else ALL_PATHS
    metafunc.parametrize("kernel_path", paths, indirect=True)


@pytest.fixture(autouse=True)
def kernel_path(request):
    """Make request.param the active kernel set for the test, then restore the previous one."""
    previous = _core.active_isa()
    if request.param != "default":
        _core.set_isa(request.param)
    yield request.param
    _core.set_isa(previous)
