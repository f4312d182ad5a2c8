"""Every benchmark in one run, printed as markdown tables for the README.

    python bench/run_all.py [--quick]

Installs nothing: PyTorch, ONNX Runtime and skl2onnx come from `pip install ".[bench]"`.
"""

import argparse
import subprocess
import sys
from pathlib import Path

from _common import fma_peak, machine

HERE = Path(__file__).resolve().parent


def run(script, *args):
    subprocess.run([sys.executable, str(HERE / script), *args], check=True)
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = ["--quick"] if args.quick else []
    print(f"Machine: {machine()}")
    for t in (1, 2):
        f32, f64 = fma_peak(t)
        print(f"Measured FMA peak, {t} thread(s): {f32:.0f} GFLOP/s float32, {f64:.0f} float64")
    print()
    run("bench_gemm.py", *quick)
    run("bench_training.py", *quick)
    run("bench_inference.py")
    run("bench_memory.py")


if __name__ == "__main__":
    main()
