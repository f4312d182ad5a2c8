"""PyTorch's numbers for the parity tests, recorded once and replayed without PyTorch.

The parity tests (tests/test_activations.py, test_losses.py, test_regularisation.py,
test_rprop.py) compare fastmlp's loss, gradient or optimizer step with PyTorch's on the same,
deterministically drawn (seeded NumPy) inputs. PyTorch is not a test dependency: its results
are stored in tests/data/torch_reference.npz and every comparison goes through

    ref = torch_reference(key, compute)

``compute`` is a zero-argument callable that imports torch inside itself and returns a dict
of NumPy arrays / floats (or a tuple of them) computed by PyTorch; ``key`` names the case
uniquely and stably (test name and parameters). Three modes:

* torch not importable: the stored values for ``key`` are returned (a missing key fails the
  test, saying how to record);
* torch importable and ``FASTMLP_RECORD_TORCH=1``: ``compute`` runs, its result is stored
  under ``key`` (the npz is rewritten atomically after each update, so one pytest process
  can record any number of cases) and returned;
* torch importable, no environment variable (or a key already recorded by this process: the
  same case run again, e.g. on another kernel path): ``compute`` runs, the stored torch version
  must be the installed one (a stale recording fails) and the result must equal the stored
  value: exactly (same dtype, shape and bits) on a machine like the recording one (same
  PyTorch CPU capability and CPU vendor, family and model), and within ROUNDING_ULPS units in
  the last place of the case's precision, at the scale of each stored array, on another one.
  Its result is returned.

To re-record (with torch installed; PyTorch 2.13.0 CPU made the committed file):

    FASTMLP_RECORD_TORCH=1 python -m pytest tests/test_activations.py tests/test_losses.py \
        tests/test_regularisation.py tests/test_rprop.py

Recording overwrites the keys it computes and keeps the others; delete the file first to drop
keys no test uses any more. PyTorch picks its kernels by CPU (AVX2 or AVX-512 vectorised
functions, MKL's code paths), so its float32 results differ in the last bits between machines
(seen: at most 1.2 ulps of an array's largest value between an AVX2 and an AVX-512 machine);
the recording names its machine (MACHINE_KEY) so that only the rounding of another machine is
let through, and the tests' own tolerances are far looser than that rounding.
"""

import os
import platform
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).parent / "data" / "torch_reference.npz"
VERSION_KEY = "__torch_version__"
MACHINE_KEY = "__torch_machine__"
ROUNDING_ULPS = 32  # on another machine: |computed - stored| <= this many eps * max|stored|
SEP = "|"  # between a case's key and the name of one of its values
RECORD_HINT = (
    "record it with torch installed: FASTMLP_RECORD_TORCH=1 python -m pytest tests/... "
    "(see tests/_torch_reference.py)"
)

_store = None  # name -> array, loaded once per process
_recorded = set()  # the keys recorded by this process


def _load():
    global _store
    if _store is None:
        _store = {}
        if PATH.exists():
            with np.load(PATH, allow_pickle=False) as f:
                _store = {name: f[name] for name in f.files}
    return _store


def _save(store):
    PATH.parent.mkdir(parents=True, exist_ok=True)
    tmp = PATH.with_name(PATH.name + f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **dict(sorted(store.items())))
    os.replace(tmp, PATH)


def _torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def _machine():
    """What decides PyTorch's CPU rounding: its vector capability and the CPU's identity."""
    import torch

    cpu = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                name, _, value = line.partition(":")
                name = name.strip()
                if name in ("vendor_id", "cpu family", "model") and name not in cpu:
                    cpu[name] = value.strip()
    except OSError:
        cpu["processor"] = platform.processor()
    identity = " ".join(f"{k}={v}" for k, v in cpu.items())
    return f"{torch.backends.cpu.get_cpu_capability()} {platform.machine()} {identity}"


def _agree(ref, value, exact, eps):
    """Stored and computed arrays are the same bits (exact) or within the rounding bound."""
    if ref.dtype != value.dtype or ref.shape != value.shape:
        return False
    if exact or value.dtype.kind not in "fc":
        return np.array_equal(ref, value, equal_nan=value.dtype.kind in "fc")
    if not np.array_equal(np.isfinite(ref), np.isfinite(value)):
        return False
    finite = np.isfinite(ref)
    if not np.array_equal(ref[~finite], value[~finite], equal_nan=True):
        return False
    if not finite.any():
        return True
    scale = np.max(np.abs(ref[finite]))
    diff = np.max(np.abs(ref[finite].astype(np.float64) - value[finite]))
    return bool(diff <= ROUNDING_ULPS * eps * scale)


def _normalise(result):
    """A dict of name -> ndarray from compute's dict or tuple (tuple items are named 0, 1, ...)."""
    items = result.items() if isinstance(result, dict) else enumerate(result)
    out = {}
    for name, value in items:
        name = str(name)
        assert SEP not in name, name
        out[name] = np.array(value) if not isinstance(value, np.ndarray) else value.copy()
    return out


def _stored(store, key):
    prefix = key + SEP
    found = {name[len(prefix):]: value for name, value in store.items() if name.startswith(prefix)}
    if not found:
        pytest.fail(f"no recorded PyTorch result for {key!r} in {PATH}; {RECORD_HINT}")
    return found


def _unnormalise(values, like_tuple):
    values = {k: (v.item() if v.ndim == 0 else v) for k, v in values.items()}
    if like_tuple:
        return tuple(values[str(i)] for i in range(len(values)))
    return values


def torch_reference(key, compute):
    """PyTorch's result for ``key``: stored, recorded or computed and checked (module doc)."""
    assert SEP not in key, key
    version = _torch_version()
    store = _load()
    if version is None:
        values = _stored(store, key)
        return _unnormalise(values, "0" in values)
    result = compute()
    like_tuple = not isinstance(result, dict)
    values = _normalise(result)
    if os.environ.get("FASTMLP_RECORD_TORCH") == "1" and key not in _recorded:
        prefix = key + SEP
        for name in [n for n in store if n.startswith(prefix)]:
            del store[name]
        store.update({prefix + name: value for name, value in values.items()})
        store[VERSION_KEY] = np.array(version)
        store[MACHINE_KEY] = np.array(_machine())
        _save(store)
        _recorded.add(key)
        return _unnormalise(values, like_tuple)
    # a key recorded earlier in this process (the same case on another kernel path) is checked
    # like a replay: a result that depends on more than the key fails here, not later
    recorded_version = str(store[VERSION_KEY]) if VERSION_KEY in store else None
    if recorded_version != version:
        pytest.fail(f"{PATH} was recorded with torch {recorded_version}, torch {version} is "
                    f"installed; {RECORD_HINT}")
    stored = _stored(store, key)
    if sorted(stored) != sorted(values):
        pytest.fail(f"{key!r}: stored values {sorted(stored)}, computed {sorted(values)}; "
                    f"{RECORD_HINT}")
    # another machine's PyTorch may round differently; a case with any float32 array was
    # computed (at least partly) in float32, so its bound is float32's
    recorded_machine = str(store[MACHINE_KEY]) if MACHINE_KEY in store else None
    exact = recorded_machine == _machine()
    single = any(v.dtype == np.float32 for v in stored.values())
    eps = np.finfo(np.float32 if single else np.float64).eps
    for name, value in values.items():
        ref = stored[name]
        if not _agree(ref, value, exact, eps):
            how = "" if exact else f" by more than {ROUNDING_ULPS} ulps (recorded on another machine)"
            pytest.fail(f"{key!r}[{name!r}]: PyTorch's result differs from the recording{how} "
                        f"(stored {ref.dtype}{ref.shape}, computed {value.dtype}{value.shape}); "
                        f"{RECORD_HINT}")
    return _unnormalise(values, like_tuple)
