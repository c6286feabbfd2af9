#!/usr/bin/env python3
"""PyTorch baseline for examples/fashion_multiclass.cnn: the same two-layer CNN
(conv KxK stride S with bias, ReLU, global average pooling, linear C with bias),
the same data and preprocessing, the same objective, trained by full-batch Adam.

The objective is cnnc's (docs/language.md): the loss summed over the samples
(squared: 0.5 * sum ||yhat - y||^2 on one-hot targets; cross_entropy: summed
softmax cross-entropy) plus (beta/2) * (||conv weight||^2 + ||conv bias||^2 +
||output weight||^2); the output bias is not penalised. The penalty is added to
the loss explicitly (Adam's own weight_decay would be a different update, not a
different objective). With --batch B, each step uses B samples, their summed loss
scaled by n/B (an unbiased estimate of the same objective), the cosine learning-rate
schedule running over all steps. Every run starts from PyTorch's default initialisation with
its seed and trains in --dtype (float32 by default, for speed); the final network
is evaluated in float64. The best of the seeds by final objective is reported,
together with its training and test accuracy and the time per run.

Usage:
  python3 examples/fashion_multiclass_torch.py --width M [--n 1000] [--test 1000]
      [--beta 0.1] [--loss squared|cross_entropy] [--epochs 3000] [--lr 0.01] [--batch B]
      [--seeds 5] [--seed0 0] [--kernel 4] [--stride 4] [--data /usr/share/datasets/fashion-mnist]
      [--dtype float32|float64] [--json]
  python3 examples/fashion_multiclass_torch.py --weights OUT/weights.json [--n 1000] ...

M is the width cnnc's network ended with (report.json "active_neurons"), so that
the architectures match. --weights evaluates the network cnnc recovered with this
script's data and objective (it must print report.json's "nonconvex_objective" and
accuracies: the two sides measure the same thing). Needs NumPy and PyTorch.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with gzip.open(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        nd = magic & 0xFF
        dims = struct.unpack(">" + "I" * nd, f.read(4 * nd))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def load(data, n, test):
    Xtr = idx(os.path.join(data, "train-images-idx3-ubyte.gz"))[:n].astype(np.float64)
    ytr = idx(os.path.join(data, "train-labels-idx1-ubyte.gz"))[:n].astype(np.int64)
    Xte = idx(os.path.join(data, "t10k-images-idx3-ubyte.gz"))[:test].astype(np.float64)
    yte = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz"))[:test].astype(np.int64)
    # the .cnn file's preprocessing: scale 1/255, then standardize with the training
    # set's per-pixel mean and population standard deviation (constant pixels: sd 1)
    Xtr, Xte = Xtr / 255.0, Xte / 255.0
    mu = Xtr.reshape(n, -1).mean(axis=0)
    sd = Xtr.reshape(n, -1).std(axis=0)
    sd[sd <= 1e-12 * np.maximum(1, np.abs(mu))] = 1
    Xtr = ((Xtr.reshape(n, -1) - mu) / sd).reshape(n, 1, 28, 28)
    Xte = ((Xte.reshape(test, -1) - mu) / sd).reshape(test, 1, 28, 28)
    return Xtr, ytr, Xte, yte


class Net(nn.Module):
    """Conv2d(1, width, kernel, stride) · ReLU · global average pooling · Linear.
    forward(patches) takes the input already unfolded into its conv patches (n, K, k²):
    the convolution is then one matrix product, which is the same function as Conv2d
    (checked against nn.functional.conv2d at start-up) and much faster on a CPU."""

    def __init__(self, width, kernel, stride, classes):
        super().__init__()
        self.conv = nn.Conv2d(1, width, kernel, stride=stride, bias=True)
        self.out = nn.Linear(width, classes, bias=True)

    def forward(self, patches):
        w = self.conv.weight.reshape(self.conv.weight.shape[0], -1)  # width × k²
        h = torch.relu(patches @ w.T + self.conv.bias).mean(dim=1)  # global average pooling
        return self.out(h)

    def forward_conv(self, x):
        h = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return self.out(h)

    def penalty(self):
        return (self.conv.weight ** 2).sum() + (self.conv.bias ** 2).sum() + (self.out.weight ** 2).sum()


def unfold(X, kernel, stride):
    """(n, 1, 28, 28) → (n, K, k²): row-major patches, features in (kh, kw) order."""
    return nn.functional.unfold(X, kernel, stride=stride).transpose(1, 2).contiguous()


def from_weights(path):
    """The network of a cnnc weights.json (conv with bias, relu, global average
    pooling, linear with bias), in float64."""
    with open(path) as f:
        w = json.load(f)
    t = {x["name"]: torch.tensor(x["data"], dtype=torch.float64).reshape(x["shape"]) for x in w["tensors"]}
    conv = [l for l in w["layers"] if l["type"] == "conv"][0]
    lin = [l for l in w["layers"] if l["type"] == "linear"][0]
    net = Net(conv["out"], conv["kernel"][0], conv["stride"][0], lin["out"]).double()
    with torch.no_grad():
        net.conv.weight.copy_(t["L%d.weight" % conv["index"]])
        net.conv.bias.copy_(t["L%d.bias" % conv["index"]])
        net.out.weight.copy_(t["L%d.weight" % lin["index"]])
        net.out.bias.copy_(t["L%d.bias" % lin["index"]])
    return net, w


def objective(net, X, Y, y, beta, loss):
    p = net(X)
    if loss == "cross_entropy":
        L = nn.functional.cross_entropy(p, y, reduction="sum")
    else:
        L = 0.5 * ((p - Y) ** 2).sum()
    return L + 0.5 * beta * net.penalty(), L, p


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int)
    ap.add_argument("--weights", help="evaluate a cnnc weights.json with this script's objective instead of training")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--loss", default="squared", choices=["squared", "cross_entropy"])
    ap.add_argument("--epochs", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=0, help="minibatch size (0: full batch)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed0", type=int, default=0, help="first seed (seeds seed0 … seed0+seeds−1; split runs over processes)")
    ap.add_argument("--kernel", type=int, default=4)
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.width is None and a.weights is None:
        ap.error("--width (train) or --weights (evaluate) is required")
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    Xtr, ytr, Xte, yte = load(a.data, a.n, a.test)
    C = 10
    X, Xt = unfold(torch.tensor(Xtr), a.kernel, a.stride), unfold(torch.tensor(Xte), a.kernel, a.stride)
    with torch.no_grad():  # the unfolded network is the convolutional one
        torch.manual_seed(0)
        chk = Net(a.width or 3, a.kernel, a.stride, 10)
        d = (chk(X[:50]) - chk.forward_conv(torch.tensor(Xtr[:50]))).abs().max().item()
        assert d < 1e-10, "unfold and conv2d differ by %g" % d
    y, yt = torch.tensor(ytr), torch.tensor(yte)
    Y = nn.functional.one_hot(y, C).double()
    Yt = nn.functional.one_hot(yt, C).double()
    if a.weights:
        net, w = from_weights(a.weights)
        with torch.no_grad():
            obj, L, p = objective(net, X, Y, y, a.beta, a.loss)
            _, Lt, pt = objective(net, Xt, Yt, yt, a.beta, a.loss)
        r = {"weights": a.weights, "width": net.conv.weight.shape[0], "n": a.n, "test": a.test, "beta": a.beta,
             "loss": a.loss, "objective": float(obj), "train_loss": float(L),
             "train_accuracy": float((p.argmax(1) == y).double().mean()),
             "test_loss": float(Lt), "test_accuracy": float((pt.argmax(1) == yt).double().mean())}
        if w.get("beta") != a.beta or w.get("loss") != a.loss:
            print("warning: weights.json has beta %s, loss %s; evaluating with beta %s, loss %s" %
                  (w.get("beta"), w.get("loss"), a.beta, a.loss), file=sys.stderr)
        if a.json:
            json.dump(r, sys.stdout, indent=1)
            print()
        else:
            print("%s (width %d): objective %.10g  train loss %.6g acc %.4f  test loss %.6g acc %.4f" %
                  (a.weights, r["width"], r["objective"], r["train_loss"], r["train_accuracy"], r["test_loss"], r["test_accuracy"]))
        return 0
    dt = torch.float32 if a.dtype == "float32" else torch.float64
    Xd, Yd = X.to(dt), Y.to(dt)
    runs = []
    for seed in range(a.seed0, a.seed0 + a.seeds):
        torch.manual_seed(seed)
        net = Net(a.width, a.kernel, a.stride, C).to(dt)
        opt = torch.optim.Adam(net.parameters(), lr=a.lr)
        b = a.batch if 0 < a.batch < a.n else a.n
        steps = (a.n + b - 1) // b
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.epochs * steps)
        gen = torch.Generator().manual_seed(seed)
        t0 = time.time()
        for _ in range(a.epochs):
            perm = torch.randperm(a.n, generator=gen) if b < a.n else torch.arange(a.n)
            for k in range(steps):
                i = perm[k * b:(k + 1) * b]
                opt.zero_grad()
                # an unbiased estimate of the same objective: the batch's summed loss
                # scaled by n/|batch|, plus the whole penalty
                p = net(Xd[i])
                if a.loss == "cross_entropy":
                    L = nn.functional.cross_entropy(p, y[i], reduction="sum")
                else:
                    L = 0.5 * ((p - Yd[i]) ** 2).sum()
                obj = L * (a.n / len(i)) + 0.5 * a.beta * net.penalty()
                obj.backward()
                opt.step()
                sched.step()
        net = net.double()
        with torch.no_grad():
            obj, L, p = objective(net, X, Y, y, a.beta, a.loss)
            acc = float((p.argmax(1) == y).double().mean())
            _, Lt, pt = objective(net, Xt, Yt, yt, a.beta, a.loss)
            tacc = float((pt.argmax(1) == yt).double().mean())
        runs.append({"seed": seed, "objective": float(obj), "train_loss": float(L), "train_accuracy": acc,
                     "test_loss": float(Lt), "test_accuracy": tacc, "seconds": time.time() - t0})
        if not a.json:
            r = runs[-1]
            print("seed %d: objective %.10g  train loss %.6g acc %.4f  test loss %.6g acc %.4f  (%.1f s)" %
                  (seed, r["objective"], r["train_loss"], r["train_accuracy"], r["test_loss"], r["test_accuracy"], r["seconds"]))
    best = min(runs, key=lambda r: r["objective"])
    out = {"width": a.width, "n": a.n, "test": a.test, "beta": a.beta, "loss": a.loss, "epochs": a.epochs,
           "lr": a.lr, "batch": a.batch, "best": best, "runs": runs}
    if a.json:
        json.dump(out, sys.stdout, indent=1)
        print()
    else:
        print("best of %d seeds: objective %.10g, train accuracy %.4f, test accuracy %.4f" %
              (a.seeds, best["objective"], best["train_accuracy"], best["test_accuracy"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
