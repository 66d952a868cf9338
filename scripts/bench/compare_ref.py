#!/usr/bin/python3
"""Reference columns of `deno task compare`: numpy and PyTorch on the same workloads.

Run by scripts/bench/compare.ts, which writes the inputs (raw float32 files and a manifest) and
merges what this prints: one JSON object on stdout with the timings, the environment, and which
implementation is unavailable. Progress goes to stderr. Outputs for the correctness check are
written next to the inputs as out_<impl>_<workload>_<name>.f32, in convprop's layout.

numpy re-implements the seed's approach: cs231n-style im2col by fancy indexing (the index
arrays built once per geometry), one matmul per layer through the BLAS, col2im with np.add.at;
max-pool is im2col + argmax and its backward np.add.at again. PyTorch uses torch.nn.functional
and autograd with one thread.
"""

import argparse
import contextlib
import ctypes
import functools
import json
import math
import os
import platform
import re
import sys
import time

try:
    import numpy as np
except ImportError:  # reported as unavailable below
    np = None

try:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
except ImportError:
    torch = None


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# numpy: the seed's approach


@functools.lru_cache(maxsize=None)
def im2col_indices(C, H, W, kh, kw, pad, stride):
    """(k, i, j): x_padded[:, k, i, j] is the column matrix [C*kh*kw, Ho*Wo] of every sample."""
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    i0 = np.tile(np.repeat(np.arange(kh), kw), C)
    i1 = stride * np.repeat(np.arange(Ho), Wo)
    j0 = np.tile(np.arange(kw), kh * C)
    j1 = stride * np.tile(np.arange(Wo), Ho)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)
    k = np.repeat(np.arange(C), kh * kw).reshape(-1, 1)
    return k, i, j


def im2col(x, kh, kw, pad, stride):
    # x [N,C,H,W] -> cols [C*kh*kw, Ho*Wo*N] (sample index fastest, as cs231n)
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    k, i, j = im2col_indices(C, H, W, kh, kw, pad, stride)
    cols = xp[:, k, i, j]  # [N, C*kh*kw, Ho*Wo]
    return cols.transpose(1, 2, 0).reshape(C * kh * kw, -1)


def col2im(cols, x_shape, kh, kw, pad, stride):
    # cols [C*kh*kw, Ho*Wo*N] -> dx [N,C,H,W]; repeated indices accumulate (np.add.at)
    N, C, H, W = x_shape
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    k, i, j = im2col_indices(C, H, W, kh, kw, pad, stride)
    cols_r = cols.reshape(C * kh * kw, -1, N).transpose(2, 0, 1)
    np.add.at(xp, (slice(None), k, i, j), cols_r)
    return xp[:, :, pad:-pad, pad:-pad] if pad else xp


def np_conv_forward(x, w, b, pad):
    # x [N,C,H,W], w [D,C,kh,kw], b [D] -> y [N,D,Ho,Wo]
    N, C, H, W = x.shape
    D, _, kh, kw = w.shape
    Ho, Wo = H + 2 * pad - kh + 1, W + 2 * pad - kw + 1
    cols = im2col(x, kh, kw, pad, 1)
    y = w.reshape(D, -1) @ cols + b.reshape(-1, 1)  # [D, Ho*Wo*N]
    y = y.reshape(D, Ho, Wo, N).transpose(3, 0, 1, 2)
    return y, (x.shape, w, cols, pad)


def np_conv_backward(dy, cache):
    x_shape, w, cols, pad = cache
    D, _, kh, kw = w.shape
    db = dy.sum(axis=(0, 2, 3))
    dy_r = dy.transpose(1, 2, 3, 0).reshape(D, -1)  # [D, Ho*Wo*N]
    dw = (dy_r @ cols.T).reshape(w.shape)
    dx = col2im(w.reshape(D, -1).T @ dy_r, x_shape, kh, kw, pad, 1)
    return dx, dw, db


def np_pool_forward(x, size, stride):
    # x [N,C,H,W] as N*C one-channel images -> y [N,C,Ho,Wo]
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    cols = im2col(x.reshape(N * C, 1, H, W), size, size, 0, stride)  # [size², Ho*Wo*N*C]
    arg = np.argmax(cols, axis=0)
    y = cols[arg, np.arange(arg.size)].reshape(Ho, Wo, N, C).transpose(2, 3, 0, 1)
    return y, (x.shape, cols.shape, arg, size, stride)


def np_pool_backward(dy, cache):
    (N, C, H, W), cols_shape, arg, size, stride = cache
    dcols = np.zeros(cols_shape, dtype=dy.dtype)
    dcols[arg, np.arange(arg.size)] = dy.transpose(2, 3, 0, 1).ravel()
    return col2im(dcols, (N * C, 1, H, W), size, size, 0, stride).reshape(N, C, H, W)


def np_fc_forward(x, w, b):
    # x [N, ...] -> [N, K]; w [D, K] -> y [N, D]
    x2 = x.reshape(x.shape[0], -1)
    return x2 @ w.T + b, (x.shape, x2, w)


def np_fc_backward(dy, cache):
    x_shape, x2, w = cache
    return (dy @ w).reshape(x_shape), dy.T @ x2, dy.sum(axis=0)


def np_softmax_ce(z, labels):
    # z [N,K] -> mean loss, dz [N,K]
    N = z.shape[0]
    s = z - z.max(axis=1, keepdims=True)
    e = np.exp(s)
    tot = e.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(tot[:, 0]) - s[np.arange(N), labels]))
    dz = e / tot
    dz[np.arange(N), labels] -= 1
    return loss, dz / np.float32(N)


class NumpyLenet:
    def __init__(self, a, labels, lr, names):
        self.names = names  # the parameter names, as convprop's params() lists them
        self.p = {k: a[k].copy() for k in names}
        self.x, self.labels, self.lr = a["x"], labels, np.float32(lr)

    def forward(self):
        p = self.p
        h1, c1 = np_conv_forward(self.x, p["conv1.w"], p["conv1.b"], 0)
        h2, c2 = np_pool_forward(h1, 2, 2)
        h3, c3 = np_conv_forward(h2, p["conv2.w"], p["conv2.b"], 0)
        h4, c4 = np_pool_forward(h3, 2, 2)
        h5, c5 = np_fc_forward(h4, p["fc1.w"], p["fc1.b"])
        h6 = np.maximum(h5, 0)
        z, c7 = np_fc_forward(h6, p["fc2.w"], p["fc2.b"])
        loss, dz = np_softmax_ce(z, self.labels)
        return loss, dz, (c1, c2, c3, c4, c5, h5, c7)

    def grads(self):
        loss, dz, (c1, c2, c3, c4, c5, h5, c7) = self.forward()
        g = {}
        d6, g["fc2.w"], g["fc2.b"] = np_fc_backward(dz, c7)
        d5 = d6 * (h5 > 0)
        d4, g["fc1.w"], g["fc1.b"] = np_fc_backward(d5, c5)
        d3 = np_pool_backward(d4, c4)
        d2, g["conv2.w"], g["conv2.b"] = np_conv_backward(d3, c3)
        d1 = np_pool_backward(d2, c2)
        _, g["conv1.w"], g["conv1.b"] = np_conv_backward(d1, c1)
        return loss, g

    def step(self):
        loss, g = self.grads()
        for k in self.names:
            self.p[k] -= self.lr * g[k]
        return loss


def numpy_runner(w, a, labels):
    s = w["spec"]
    kind = s["kind"]
    if kind == "conv":
        x, wt, b, dy, pad = a["x"], a["w"], a["b"], a["dy"], s["pad"]

        def check():
            y, c = np_conv_forward(x, wt, b, pad)
            dx, dw, db = np_conv_backward(dy, c)
            return {"y": y, "dx": dx, "dw": dw, "db": db}

        return (
            lambda: np_conv_forward(x, wt, b, pad),
            lambda: np_conv_backward(dy, np_conv_forward(x, wt, b, pad)[1]),
            check,
        )
    if kind == "pool":
        x, dy, size, stride = a["x"], a["dy"], s["size"], s["stride"]

        def check():
            y, c = np_pool_forward(x, size, stride)
            return {"y": y, "dx": np_pool_backward(dy, c)}

        return (
            lambda: np_pool_forward(x, size, stride),
            lambda: np_pool_backward(dy, np_pool_forward(x, size, stride)[1]),
            check,
        )
    if kind == "fc":
        x, wt, b, dy = a["x"], a["w"], a["b"], a["dy"]

        def check():
            y, c = np_fc_forward(x, wt, b)
            dx, dw, db = np_fc_backward(dy, c)
            return {"y": y, "dx": dx, "dw": dw, "db": db}

        return (
            lambda: np_fc_forward(x, wt, b),
            lambda: np_fc_backward(dy, np_fc_forward(x, wt, b)[1]),
            check,
        )
    net = NumpyLenet(a, labels, s["lr"], w["params"])

    def check():
        loss, g = net.grads()
        return {"loss": np.array([loss]), **g}

    return net.forward, net.step, check


# ---------------------------------------------------------------------------------------------
# PyTorch


def torch_runner(w, a, labels):
    s = w["spec"]
    kind = s["kind"]
    T = {k: torch.from_numpy(v) for k, v in a.items()}
    if kind in ("conv", "fc", "pool"):
        if kind == "conv":

            def f(x, w, b):
                return F.conv2d(x, w, b, padding=s["pad"])

            leaves = [T["x"], T["w"], T["b"]]
        elif kind == "fc":
            f = F.linear
            leaves = [T["x"], T["w"], T["b"]]
        else:

            def f(x):
                return F.max_pool2d(x, s["size"], s["stride"])

            leaves = [T["x"]]
        req = [t.clone().requires_grad_() for t in leaves]
        dy = T["dy"]

        def fwd():
            with torch.no_grad():
                return f(*leaves)

        def step():
            return torch.autograd.grad(f(*req), req, dy)

        def check():
            y = fwd()
            g = step()
            names = ["dx", "dw", "db"][: len(g)]
            return {"y": y.numpy(), **{n: t.numpy() for n, t in zip(names, g)}}

        return fwd, step, check

    names = w["params"]
    p = {k: T[k].clone().requires_grad_() for k in names}
    x = T["x"]
    lab = torch.from_numpy(labels.astype(np.int64))
    opt = torch.optim.SGD(list(p.values()), lr=s["lr"], momentum=0)
    n = x.shape[0]

    def loss_fn():
        h = F.max_pool2d(F.conv2d(x, p["conv1.w"], p["conv1.b"]), 2)
        h = F.max_pool2d(F.conv2d(h, p["conv2.w"], p["conv2.b"]), 2)
        h = F.relu(F.linear(h.reshape(n, -1), p["fc1.w"], p["fc1.b"]))
        return F.cross_entropy(F.linear(h, p["fc2.w"], p["fc2.b"]), lab)

    def fwd():
        with torch.no_grad():
            return loss_fn().item()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()

    def check():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        out = {"loss": np.array([loss.item()], dtype=np.float32)}
        out.update({k: p[k].grad.numpy().copy() for k in names})
        opt.zero_grad(set_to_none=True)
        return out

    return fwd, step, check


# ---------------------------------------------------------------------------------------------
# Timing (the same scheme as compare.ts: warm-up, then rounds in rotating order)


def time_cell(runners, pass_index, opt):
    samples, inner, want = {}, {}, {}
    for name, fns in runners.items():
        fn = fns[pass_index]
        t0 = time.perf_counter()
        for i in range(100):
            s = time.perf_counter()
            fn()
            last = time.perf_counter() - s
            if time.perf_counter() - t0 > opt.warm and (i >= 1 or last > opt.warm):
                break
        samples[name] = []
        inner[name] = min(50, max(1, math.ceil(opt.min_sample / max(last, 1e-6))))
        # calls too long for the budget get 3 reps, down to 1, as in compare.ts
        want[name] = (
            opt.min_reps
            if last * opt.min_reps <= opt.budget
            else max(1, min(3, opt.min_reps, int(2 * opt.budget / last)))
        )
    start = time.perf_counter()
    rnd = 0
    while True:
        spent = time.perf_counter() - start
        pending = [
            n
            for n in runners
            if len(samples[n]) < want[n]
            or (len(samples[n]) < opt.max_reps and spent < opt.budget)
        ]
        if not pending:
            break
        for j in range(len(pending)):
            name = pending[(j + rnd) % len(pending)]
            fn, k = runners[name][pass_index], int(inner[name])
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append(1000 * (time.perf_counter() - t0) / k)
        rnd += 1
    return samples


# ---------------------------------------------------------------------------------------------
# Environment


def blas_report():
    """Which BLAS numpy's matmul runs on (its kernel and threads), and its kind: "openblas",
    "reference" (netlib, many times slower) or "other"."""
    try:
        from threadpoolctl import threadpool_info

        infos = [
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
            f"{i.get('num_threads')} thread(s)) {i.get('filepath')}"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
        if infos:
            kind = "openblas" if "openblas" in " ".join(infos).lower() else "other"
            return "; ".join(infos) + " [threadpoolctl]", kind
    except ImportError:
        pass
    np.ones((64, 64), dtype=np.float32) @ np.ones((64, 64), dtype=np.float32)  # load it
    libs = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            real = os.path.realpath(path)
            if "blas" in os.path.basename(path).lower() and real not in libs:
                libs.append(real)
    found, kinds = {}, set()  # description -> the files that gave it
    for real in libs:
        try:
            lib = ctypes.CDLL(real)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            desc = (
                f"{lib.openblas_get_config().decode()}, kernel "
                f"{lib.openblas_get_corename().decode()}, "
                f"{lib.openblas_get_num_threads()} thread(s)"
            )
            kinds.add("openblas")
        except (OSError, AttributeError):
            reference = "/blas/" in real  # Debian's libblas3 lives in .../blas/
            kinds.add("reference" if reference else "other")
            desc = "reference BLAS (netlib), not OpenBLAS" if reference else "BLAS"
        found.setdefault(desc, []).append(real)
    if not found:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON
            np.show_config()
        return "unknown (numpy.show_config() printed above)", "other"
    kind = "openblas" if kinds == {"openblas"} else "reference" if "reference" in kinds else "other"
    return "; ".join(f"{d} ({', '.join(files)})" for d, files in found.items()), kind


def environment():
    env = {
        "python": f"Python {platform.python_version()}",
        "numpy": np.__version__ if np is not None else None,
        "torch": torch.__version__ if torch is not None else None,
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
    }
    if np is not None:
        env["blas"], env["blas_kind"] = blas_report()
    if torch is not None:
        env["torch_threads"] = torch.get_num_threads()
        cfg = torch.__config__.show()
        blas = re.search(r"BLAS_INFO=(\w+)", cfg)
        cap = re.search(r"CPU capability usage: (\w+)", cfg)
        env["torch_backend"] = (
            f"oneDNN (mkldnn) {'available' if torch.backends.mkldnn.is_available() else 'off'}, "
            f"BLAS_INFO={blas.group(1) if blas else '?'}, "
            f"CPU capability {cap.group(1) if cap else '?'}"
        )
    return env


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-reps", type=int, default=31)
    ap.add_argument("--budget", type=float, default=6.0, help="seconds per cell")
    ap.add_argument("--warm", type=float, default=0.6, help="warm-up seconds")
    ap.add_argument("--min-sample", type=float, default=0.01, help="shortest rep, seconds")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--torch-only", action="store_true", help="time torch only, not numpy")
    opt = ap.parse_args()
    if torch is not None:
        torch.set_num_threads(opt.threads)

    unavailable = {}
    if np is None:
        unavailable["numpy"] = "numpy not importable by this Python"
        unavailable["torch"] = "numpy (needed to load inputs) not importable"
        print(json.dumps({"env": environment(), "results": {}, "unavailable": unavailable}))
        return
    if torch is None:
        unavailable["torch"] = "torch not importable by this Python (python3-torch)"
    env = environment()
    log(f"  {env['python']}, numpy {env['numpy']} ({env['blas']}), torch {env['torch']}")
    if "torch_backend" in env:
        log(f"  torch: {env['torch_threads']} thread(s), {env['torch_backend']}")

    with open(opt.manifest) as f:
        manifest = json.load(f)["workloads"]
    base = os.path.dirname(opt.manifest)
    results = {}
    for wid, w in manifest.items():
        a, labels = {}, None
        for name, spec in w["arrays"].items():
            path = os.path.join(base, spec["file"])
            if name == "labels":
                labels = np.fromfile(path, dtype=np.int32)
            else:
                a[name] = np.fromfile(path, dtype=np.float32).reshape(spec["shape"])
        runners = {} if opt.torch_only else {"numpy": numpy_runner(w, a, labels)}
        if torch is not None:
            runners["torch"] = torch_runner(w, a, labels)
        log(f"\n{wid} {w['title']}")
        for name, (_, _, check) in runners.items():
            for key, val in check().items():
                out = os.path.join(opt.out, f"out_{name}_{wid}_{key}.f32")
                np.ascontiguousarray(val, dtype=np.float32).tofile(out)
        results[wid] = {}
        for idx, p in enumerate(["fwd", "fwdbwd"]):
            samples = time_cell(runners, idx, opt)
            results[wid][p] = {n: {"samples": s} for n, s in samples.items()}
            med = " · ".join(
                f"{n} {sorted(s)[len(s) // 2]:.3g} ms ({len(s)})" for n, s in samples.items()
            )
            log(f"  {'fwd' if p == 'fwd' else 'fwd+bwd':8} {med}")
    print(json.dumps({"env": env, "results": results, "unavailable": unavailable}))


if __name__ == "__main__":
    main()
