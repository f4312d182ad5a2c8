"""Which kernels run: the ISA dispatch seen from Python, FASTMLP_ARCH, show_config()."""

import os
import warnings

# An OpenMP thread that reaches a barrier first spins before it sleeps. libgomp's default spin
# (300000 pauses of ~26 ns here: 8 ms) suits an idle machine, but when other processes compete
# for the cores the spinning thread holds a core its descheduled partner needs: 2-thread fits
# ran 10-200x slower than 1 thread on a busy 2-core machine. 20000 pauses (0.5 ms) still cover
# every wait inside a training step, so an idle machine loses nothing measurable, and a busy one
# gives its core away 16x sooner. libgomp reads the setting once, when _core loads it; a user's
# own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins, and the environment is left as it was.
# (network.cpp's kSpinsSetAtImport is the same count)
SPIN_COUNT = "20000"


def _import_core():
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        from . import _core
        return _core
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    try:
        from . import _core
    finally:
        del os.environ["GOMP_SPINCOUNT"]
    return _core


_core = _import_core()

ISA_NAMES = ("portable", "avx2", "avx512")


def apply_environment():
    """Honour FASTMLP_ARCH=portable|avx2|avx512 once, at import."""
    requested = os.environ.get("FASTMLP_ARCH", "").strip().lower()
    if not requested:
        return
    if requested not in ISA_NAMES:
        warnings.warn(
            f"FASTMLP_ARCH={requested!r} is not one of {', '.join(ISA_NAMES)}; "
            f"using {_core.active_isa()!r}.",
            RuntimeWarning,
            stacklevel=3,
        )
    elif requested not in _core.available_isas():
        warnings.warn(
            f"FASTMLP_ARCH={requested!r} is not available on this CPU (available: "
            f"{', '.join(_core.available_isas())}); using {_core.active_isa()!r}.",
            RuntimeWarning,
            stacklevel=3,
        )
    else:
        _core.set_isa(requested)


def config():
    """The kernel path, its blocking and the thread count, as a dict."""
    isa = _core.active_isa()
    info = _core.kernel_info(isa)
    return {
        "isa": isa,
        "available_isas": list(_core.available_isas()),
        "FASTMLP_ARCH": os.environ.get("FASTMLP_ARCH"),
        "openmp": bool(_core.openmp),
        "max_threads": _core.max_threads(),
        "float32_kernel": info["float32"],
        "float64_kernel": info["float64"],
    }


def show_config():
    """Print the ISA path, the available paths, threads and GEMM block sizes."""
    from . import __version__

    c = config()
    print(f"fastmlp {__version__}")
    print(f"  ISA path:        {c['isa']} (available: {', '.join(c['available_isas'])};"
          f" FASTMLP_ARCH={c['FASTMLP_ARCH'] or 'unset'})")
    print(f"  OpenMP threads:  {c['max_threads']} (n_jobs=None uses this many)")
    for dtype in ("float32", "float64"):
        k = c[f"{dtype}_kernel"]
        print(f"  {dtype} GEMM:    {k['name']}: tile MR={k['mr']} x NR={k['nr']},"
              f" blocks KC={k['kc']} MC={k['mc']} NC={k['nc']}")
