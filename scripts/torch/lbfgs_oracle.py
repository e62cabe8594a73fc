"""Oracle trajectories of torch.optim.LBFGS for internal/optim's tests.

usage: lbfgs_oracle.py REPO_ROOT      (Debian's /usr/bin/python3 with python3-torch)

Writes:
  testdata/optim/quadratic.json, testdata/optim/rosenbrock.json
      x and f after each of 50 iterations, x float32 (f and its gradient evaluated in
      float64 at x, the gradient rounded to float32), on fixed problems:
      f(x) = 0.5 x'Ax - b'x (n = 20, A = Q diag(eig) Q' with eigenvalues
      geometric from 1 to 10, and one case with a history of 5 so that pairs
      are dropped), and Rosenbrock sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2
      from (-1.2, 1, -1.2, 1, ...) for n = 2 and n = 10.
  testdata/vgg19-tiny/lbfgs.json
      nsref's objective on the tiny fixture (case defaults-max of vectors.json:
      vgg19-tiny-new.mat, content.png, style1.png, initial.png, max pooling),
      losses after each of 20 iterations in float32 and, to show how far two
      correct float32 runs drift apart, in float64; and the first 3 float32
      iterations in full (x, the gradient at x, x after the step).

The optimiser is torch.optim.LBFGS as neural-style-pt uses it (no line search,
history 100, lr 1) with one change: step() is called once per iteration with
max_iter=1, so the closure runs once per iteration as in the Go loop, and both
tolerances are -inf, so torch never stops early (neural-style-pt's -1 would stop
the whole run at the first direction with g.d > 1).

The learning rates: without a line search a fixed step along the L-BFGS direction
overshoots on Rosenbrock's curved valley, and in float32 the path is chaotic: two
correct implementations (torch float32 against float64) part by up to 4e-1 in f
within 50 iterations at lr 1, and by 1e-5 to 1e-4 at most rates for n = 10. lr 0.05
(n = 2) and 0.2 (n = 10) keep every iterate finite and that float32-against-float64
difference (each case records it as float64_drift, relative to max(1, |value|))
below 3.3e-6 for all 50 iterations, so a 1e-5 comparison tests the optimiser, not
rounding. The quadratic (eigenvalues 1 to 10) uses lr 1 (drift 1e-6).
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsref  # noqa: E402

ITERATIONS = 50
FIXTURE_ITERATIONS = 20
# The first iterations of the float32 fixture run are recorded in full (x before,
# the gradient at it, x after; HWC, mean subtracted), so that the Go test can give
# its optimiser torch's own gradients and compare the steps alone.
STEPS_RECORDED = 3


def arr(t):
    """A float32 tensor as vectors.json writes arrays; 9 significant digits give each float32 back exactly."""
    a = t.detach().numpy()
    return {"shape": list(a.shape), "data": [float("%.9g" % v) for v in a.reshape(-1)]}


def lbfgs(params, lr, history):
    return torch.optim.LBFGS(params, lr=lr, max_iter=1, history_size=history,
                             tolerance_grad=-float("inf"), tolerance_change=-float("inf"))


def trajectory(f, x0, lr, history, dtype, iterations=ITERATIONS):
    """x and f after each iteration of L-BFGS on f from x0, the parameters in dtype.

    The closure evaluates f and its gradient in float64 at the parameters and hands
    the optimiser the gradient rounded to dtype: for float32 that is the correctly
    rounded gradient, which the Go test computes bit for bit the same way, so that the
    comparison measures the optimiser alone and not two float32 autograd orders (which
    alone part Rosenbrock paths by 1e-5 within 25 iterations).
    """
    x = torch.tensor(x0, dtype=dtype).requires_grad_(True)
    opt = lbfgs([x], lr, history)

    def closure():
        opt.zero_grad()
        x64 = x.detach().double().requires_grad_(True)
        loss = f(x64)
        loss.backward()
        x.grad = x64.grad.to(dtype)
        return loss

    xs, fs = [], []
    for _ in range(iterations):
        opt.step(closure)
        with torch.no_grad():
            xs.append([float(v) for v in x])
            fs.append(float(f(x.double())))
    return xs, fs


def quadratic(a, b):
    def f(x):
        at, bt = torch.from_numpy(a).to(x.dtype), torch.from_numpy(b).to(x.dtype)
        return 0.5 * (x @ (at @ x)) - bt @ x
    return f


def rosenbrock(x):
    return torch.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def drift(xs32, xs64):
    a, b = np.array(xs32), np.array(xs64)
    return float(np.max(np.abs(a - b) / np.maximum(1, np.abs(b))))


def case(name, f, x0, lr, history, extra):
    xs, fs = trajectory(f, x0, lr, history, torch.float32)
    xs64, fs64 = trajectory(f, x0, lr, history, torch.float64)
    c = {"name": name, "lr": lr, "history": history, "x0": [float(v) for v in x0], "x": xs, "f": fs,
         "float64_drift": {"x": drift(xs, xs64), "f": drift([[v] for v in fs], [[v] for v in fs64])}}
    c.update(extra)
    print(name, "float32 against float64:", c["float64_drift"])
    return c


def problems():
    rng = np.random.default_rng(12)
    n = 20
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = ((q * np.geomspace(1, 10, n)) @ q.T).astype(np.float32)
    a = (a + a.T) / 2  # exactly symmetric in float32
    b = rng.standard_normal(n).astype(np.float32)
    x0 = rng.standard_normal(n).astype(np.float32)
    quad = {"generator": "scripts/torch/lbfgs_oracle.py (torch.optim.LBFGS, float32, max_iter 1 per step)",
            "f": "0.5 x'Ax - b'x", "cases": []}
    extra = {"n": n, "a": [float(v) for v in a.reshape(-1)], "b": [float(v) for v in b]}
    for history in (100, 5):
        quad["cases"].append(case(f"n{n}-history{history}", quadratic(a, b), x0, 1.0, history, extra))
    rosen = {"generator": quad["generator"], "f": "sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2", "cases": []}
    for n, lr, history in ((2, 0.05, 100), (2, 0.05, 3), (10, 0.2, 100)):
        x0 = np.array([-1.2, 1.0] * (n // 2), dtype=np.float32)
        rosen["cases"].append(case(f"n{n}-lr{lr}-history{history}", rosenbrock, x0, lr, history, {"n": n}))
    return quad, rosen


def fixture(tiny):
    with open(os.path.join(tiny, "vectors.json")) as fp:
        vectors = json.load(fp)
    cfg = next(c for c in vectors["cases"] if c["name"] == "defaults-max" and c["network"] == "vgg19-tiny-new.mat")
    from PIL import Image
    img = {k: np.asarray(Image.open(os.path.join(tiny, k)).convert("RGB"), dtype=np.float32)
           for k in (cfg["content"], cfg["initial"], *cfg["styles"])}
    out = {"generator": "scripts/torch/lbfgs_oracle.py (nsref.Problem, torch.optim.LBFGS, max_iter 1 per step)",
           "case": cfg["name"], "network": cfg["network"], "lr": 1.0, "history": 100,
           "iterations": FIXTURE_ITERATIONS}
    for dtype, key in ((torch.float32, "loss_history"), (torch.float64, "loss_history_float64")):
        params, mean = nsref.load_net(os.path.join(tiny, cfg["network"]))
        np_dtype = np.float32 if dtype == torch.float32 else np.float64
        params = {k: (w.astype(np_dtype), b.astype(np_dtype)) for k, (w, b) in params.items()}
        prob = nsref.Problem(params, mean.astype(np_dtype), img[cfg["content"]].astype(np_dtype),
                             [img[s].astype(np_dtype) for s in cfg["styles"]], pooling=cfg["pooling"],
                             content_weight=cfg["content_weight"], content_weight_blend=cfg["content_weight_blend"],
                             style_weight=cfg["style_weight"], style_layer_weight_exp=cfg["style_layer_weight_exp"],
                             tv_weight=cfg["tv_weight"])
        x = prob.pre(img[cfg["initial"]].astype(np_dtype))[None].clone().requires_grad_(True)
        opt = lbfgs([x], out["lr"], out["history"])

        def closure():
            opt.zero_grad()
            loss = prob.losses(x)["total"]
            loss.backward()
            return loss

        hist, steps = [], []
        for it in range(FIXTURE_ITERATIONS):
            if dtype == torch.float32 and it < STEPS_RECORDED:
                before = x.detach().clone()
            opt.step(closure)
            if dtype == torch.float32 and it < STEPS_RECORDED:
                steps.append({"x": arr(before[0]), "gradient": arr(x.grad[0]), "x_after": arr(x.detach()[0])})
            with torch.no_grad():
                hist.append({k: float(v) for k, v in prob.losses(x).items()})
        out[key] = hist
        if steps:
            out["steps"] = steps
    t32, t64 = [h["total"] for h in out["loss_history"]], [h["total"] for h in out["loss_history_float64"]]
    print("fixture totals float32:", t32)
    print("fixture float32 against float64:", [f"{abs(a - b) / abs(b):.1e}" for a, b in zip(t32, t64)])
    return out


def main(root):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(os.path.join(root, "testdata", "optim"), exist_ok=True)
    quad, rosen = problems()
    for name, v in (("quadratic", quad), ("rosenbrock", rosen)):
        with open(os.path.join(root, "testdata", "optim", name + ".json"), "w") as fp:
            json.dump(v, fp)
    tiny = os.path.join(root, "testdata", "vgg19-tiny")
    with open(os.path.join(tiny, "lbfgs.json"), "w") as fp:
        json.dump(fixture(tiny), fp)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
