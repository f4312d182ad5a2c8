"""The scripts in examples/ run, write their PNG, and reach what they claim.

Each script is run in this process (runpy: no interpreter start or import per script) through
its main(out_dir), with the Agg backend, writing into tmp_path; the scripts assert their own
claims (XOR solved 4/4 where a linear model is not, ...) and these tests check the returned
numbers too. Threads are limited to one (BLAS and OpenMP): the examples' problems are small,
and a loaded CI machine makes extra threads only wait.
"""

import runpy
import sys
from pathlib import Path

import matplotlib
import numpy as np
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run(name, out_dir):
    script = EXAMPLES / f"{name}.py"
    assert script.is_file(), script
    main = runpy.run_path(str(script), run_name=f"example_{name}")["main"]
    with threadpool_limits(limits=1):
        result = main(out_dir)
    png = out_dir / f"{name}.png"
    assert result["path"] == png
    data = png.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 10_000
    return result


def test_committed_images_are_the_scripts_outputs():
    """Test every example has its PNG committed under examples/images/, and nothing else is
    there."""
    scripts = sorted(p.stem for p in EXAMPLES.glob("plot_*.py"))
    images = sorted(p.stem for p in (EXAMPLES / "images").glob("*.png"))
    assert scripts == ["plot_digits", "plot_loss_curves", "plot_regression_1d", "plot_xor"]
    assert images == scripts


def test_plot_xor(tmp_path, capsys):
    result = _run("plot_xor", tmp_path)
    assert result["mlp_correct"] == 4
    assert result["linear_correct"] < 4
    assert 0 < result["solved"] <= 20
    assert "2-2-1 network (random_state=1): 4/4 correct" in capsys.readouterr().out


def test_plot_digits(tmp_path):
    result = _run("plot_digits", tmp_path)
    assert result["accuracy"] > 0.95
    assert abs(result["accuracy"] - result["sklearn_accuracy"]) <= 0.01
    assert result["seconds"] > 0 and result["sklearn_seconds"] > 0


def test_plot_regression_1d(tmp_path):
    errors = _run("plot_regression_1d", tmp_path)["max_errors"]
    assert list(errors) == [1, 2, 4, 8, 16]
    assert errors[1] > 0.5 and errors[16] < 0.05
    assert errors[16] < errors[2] < errors[1] + 1e-12


def test_plot_loss_curves(tmp_path):
    result = _run("plot_loss_curves", tmp_path)
    default, overfit = result["default"], result["overfit"]
    assert default.n_iter_ < default.max_iter
    assert len(default.validation_loss_curve_) == default.n_iter_
    val = np.asarray(overfit.validation_loss_curve_)
    assert np.argmin(val) < overfit.n_iter_ - 1 and val[-1] > 1.05 * val.min()
    assert overfit.loss_curve_[-1] < 0.5 * overfit.loss_curve_[int(np.argmin(val))]


def test_command_line_output_directory(tmp_path, monkeypatch):
    """Test the scripts' command line: --out-dir, and FASTMLP_EXAMPLES_OUT as its default."""
    for argv, env, out in [(["--out-dir", str(tmp_path / "flag")], None, tmp_path / "flag"),
                           ([], str(tmp_path / "env"), tmp_path / "env")]:
        monkeypatch.setattr(sys, "argv", ["plot_xor.py", *argv])
        if env is None:
            monkeypatch.delenv("FASTMLP_EXAMPLES_OUT", raising=False)
        else:
            monkeypatch.setenv("FASTMLP_EXAMPLES_OUT", env)
        with threadpool_limits(limits=1):
            runpy.run_path(str(EXAMPLES / "plot_xor.py"), run_name="__main__")
        assert (out / "plot_xor.png").read_bytes()[:8] == PNG_SIGNATURE
