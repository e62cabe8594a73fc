"""Does a strong-Wolfe line search pay for neural style? (issue 12: add one only if so)

usage: lbfgs_linesearch.py REPO_ROOT      (Debian's /usr/bin/python3 with python3-torch)

Runs torch.optim.LBFGS on nsref's objective for the tiny fixture (testdata/vgg19-tiny,
case defaults-max) with and without line_search_fn="strong_wolfe", 200 loss-and-gradient
evaluations each, and prints the best loss after 10, 20, 50, 100 and 200 evaluations.
An evaluation is what costs (a forward and backward pass), so this is the fair axis.

Measured (torch 1.13, one thread):
  none          116959  42007  10067  4648  3025
  strong_wolfe  208538  61724  11105  5110  2815
The line search is behind until well past 100 evaluations and 7% ahead at 200, so
neuralstyle has none.
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsref  # noqa: E402


def main(root):
    torch.set_num_threads(1)
    tiny = os.path.join(root, "testdata", "vgg19-tiny")
    img = {k: np.asarray(Image.open(os.path.join(tiny, k)).convert("RGB"), dtype=np.float32)
           for k in ("content.png", "initial.png", "style1.png")}
    params, mean = nsref.load_net(os.path.join(tiny, "vgg19-tiny-new.mat"))
    prob = nsref.Problem(params, mean, img["content.png"], [img["style1.png"]], pooling="max")
    for ls in (None, "strong_wolfe"):
        x = prob.pre(img["initial.png"])[None].clone().requires_grad_(True)
        opt = torch.optim.LBFGS([x], lr=1, max_iter=1000, max_eval=200, history_size=100,
                                tolerance_grad=-1, tolerance_change=-1, line_search_fn=ls)
        evals = []

        def closure():
            opt.zero_grad()
            loss = prob.losses(x)["total"]
            loss.backward()
            evals.append(float(loss))
            return loss

        opt.step(closure)
        best = np.minimum.accumulate(evals)
        print(f"{str(ls):13s}", len(evals), "evaluations; best loss after 10/20/50/100/200:",
              " ".join(f"{best[min(k, len(best)) - 1]:.0f}" for k in (10, 20, 50, 100, 200)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
