"""predict_proba latency (1 row) and throughput (10000 rows) for a 784→256→128→10 relu network:
fastmlp against scikit-learn, PyTorch eager and ONNX Runtime, all holding the same weights.

    python bench/bench_inference.py

The scikit-learn twin is fitted briefly; fastmlp gets its coefs_/intercepts_, PyTorch an
nn.Sequential with the same weights, ONNX Runtime the skl2onnx conversion. The four outputs are
checked to agree before anything is timed. Threads: every library uses all the machine's cores.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier

from _common import best_seconds
from fastmlp import MLPClassifier, _core


def twins(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((2000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkClassifier((256, 128), max_iter=2, random_state=0).fit(X, y)
        fm = MLPClassifier((256, 128), max_iter=1, random_state=0).fit(X, y)
    fm.coefs_ = [c.copy() for c in sk.coefs_]
    fm.intercepts_ = [b.copy() for b in sk.intercepts_]
    return sk, fm


def peers(sk, threads):
    out = {}
    try:
        import torch

        torch.set_num_threads(threads)
        layers = []
        for i, (W, b) in enumerate(zip(sk.coefs_, sk.intercepts_)):
            lin = torch.nn.Linear(*W.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            layers.append(torch.nn.ReLU() if i + 1 < len(sk.coefs_) else torch.nn.Softmax(dim=1))
        net = torch.nn.Sequential(*layers).eval()

        def torch_proba(X):
            with torch.inference_mode():
                return net(torch.from_numpy(X)).numpy()

        out["PyTorch eager"] = torch_proba
    except ImportError:
        pass
    try:
        import onnxruntime as ort
        from skl2onnx import to_onnx

        onx = to_onnx(sk, np.zeros((1, 784), np.float32), options={"zipmap": False})
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        sess = ort.InferenceSession(onx.SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        out["ONNX Runtime"] = lambda X: sess.run(["probabilities"], {name: X})[0]
    except ImportError:
        pass
    return out


def main():
    threads = _core.max_threads()
    sk, fm = twins()
    libs = {"fastmlp": fm.predict_proba, "scikit-learn": sk.predict_proba, **peers(sk, threads)}
    rng = np.random.default_rng(1)
    one = rng.random((1, 784), dtype=np.float32)
    many = rng.random((10000, 784), dtype=np.float32)
    ref = sk.predict_proba(many)
    for name, f in libs.items():
        np.testing.assert_allclose(f(many), ref, rtol=2e-4, atol=2e-6, err_msg=name)
        np.testing.assert_allclose(f(one), sk.predict_proba(one), rtol=2e-4, atol=2e-6,
                                   err_msg=name)
    # Rounds visit the libraries in turn (best of the rounds per library), so that drift in a
    # shared machine's load falls on all of them alike rather than on whichever ran last. Each
    # library's turn starts after a pause long enough for the previous library's worker
    # threads to stop spinning (ONNX Runtime's and OpenBLAS's keep a core busy for a while after
    # each call, which no user running one of them alone would see).
    lat = dict.fromkeys(libs, float("inf"))
    thr = dict.fromkeys(libs, float("inf"))
    for _ in range(7):
        for name, f in libs.items():
            time.sleep(0.2)
            lat[name] = min(lat[name], best_seconds(lambda: f(one), repeats=1, inner=500))
    for _ in range(5):
        for name, f in libs.items():
            time.sleep(0.2)
            thr[name] = min(thr[name], best_seconds(lambda: f(many), repeats=1, inner=3))
    print(f"predict_proba, 784→256→128→10 float32, {threads} threads "
          f"(ratios = peer time / fastmlp time)")
    print("| library | 1 row (µs) | 1-row ratio | 10000 rows (ms) | 10000-row ratio |")
    print("|---|---|---|---|---|")
    for name in libs:
        print(f"| {name} | {lat[name] * 1e6:.1f} | {lat[name] / lat['fastmlp']:.2f}× "
              f"| {thr[name] * 1e3:.2f} | {thr[name] / thr['fastmlp']:.2f}× |")


if __name__ == "__main__":
    main()
