#!/usr/bin/env python3
"""Evaluate a cnnc weights.json with PyTorch, in float64, independently of cnnc.

Usage:  /usr/bin/python3 torch_eval.py weights.json data.json [weights2.json data2.json ...]

(Debian's python3-torch: apt-get install -y python3-torch.)
data.json is {"X": [[...], ...], "Y": [[...], ...] or null}: one row per sample, the
features row-major over the model's input shape (C, H, W); Y is n x outputs.

The network is a torch.nn.Sequential built from weights.json's "layers" and "tensors"
as docs/cli.md describes (PyTorch layouts):
  conv      Conv1d/Conv2d(stride, zero padding), circconv  Conv1d/Conv2d(padding='same',
  padding_mode='circular'), relu  ReLU, gated  a small module (below), avgpool/maxpool
  AvgPool/MaxPool (window, stride) or AdaptiveAvgPool/AdaptiveMaxPool(1) + Flatten when
  global, flatten  Flatten, linear  Flatten + Linear (fixed=VALUE: all weights VALUE).
A gated layer k follows a linear/conv layer k-1: its output is
  1[layer_{k-1}(x; gates, gate_bias) > 0] * layer_{k-1}(x; weight, bias)
with x the input of layer k-1 (L<k>.gates, optional L<k>.gate_bias).

Objective (docs/language.md scale): loss summed over samples and outputs (squared
0.5*sum (p-y)^2, hinge sum max(0, 1-y p), logistic sum log(1+exp(-y p)),
cross_entropy torch.nn.functional.cross_entropy(p, y, reduction='sum') with class-
probability targets y) plus
(beta/2) * sum over tensors of l2 ||T||^2, l1sq sum_g (sum |T[:, g, :]|)^2 with T viewed
as [shape0, groups, -1], none 0. Missing penalties default as in cnnc: weights l2 (none
for fixed layers), bias l2 on hidden layers and none on the output layer, gates none.

Parallel branches (layer "branches": K) need nothing special: the first branched layer
is an ordinary Linear/Conv, later ones are Linear layers whose weights are zero outside
their K diagonal blocks. A network-level "regularizer" (path or group) replaces the
per-tensor penalties of the tensors it covers: see network_regularizer.

Prints a JSON list with one object per pair:
  {"pred": [[...]], "loss": L, "penalty": P, "objective": L + P}  (loss, objective null
without Y). Exit status 3 when torch cannot be imported.
"""
import json
import sys

try:
    import torch
    import torch.nn as nn
except ImportError as e:  # pragma: no cover
    sys.stderr.write("cnnc-torch-missing: %s\n" % e)
    sys.exit(3)

torch.set_default_dtype(torch.float64)

PARAM = ("conv", "circconv", "linear")


class Gated(nn.Module):
    """Gated ReLU (§3.1, docs/math/03-gated.md): the mask comes from fixed gates, not the weights."""

    def __init__(self, layer, gate):
        super().__init__()
        self.layer = layer
        self.gate = gate

    def forward(self, x):
        return self.layer(x) * (self.gate(x) > 0).to(x.dtype)


def tensor(t):
    return torch.tensor(t["data"], dtype=torch.float64).reshape(t["shape"])


def spatial(v, n, default):
    if v is None or v == []:
        return [default] * n
    if isinstance(v, int):
        return [v] * n
    if len(v) == 1:
        return list(v) * n
    return list(v)


def affine(l, k, weight, bias):
    """The module of a conv/circconv/linear layer with the given weight and bias tensors."""
    with torch.no_grad():
        if l["type"] == "linear":
            m = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
        else:
            nsp = weight.dim() - 2
            conv = nn.Conv1d if nsp == 1 else nn.Conv2d
            ks = list(weight.shape[2:])
            if l["type"] == "circconv":
                m = conv(weight.shape[1], weight.shape[0], ks, padding="same",
                         padding_mode="circular", bias=bias is not None)
            else:
                m = conv(weight.shape[1], weight.shape[0], ks,
                         stride=spatial(l.get("stride"), nsp, 1),
                         padding=spatial(l.get("padding"), nsp, 0), bias=bias is not None)
        m = m.double()
        m.weight.copy_(weight)
        if bias is not None:
            m.bias.copy_(bias)
    if l["type"] == "linear":
        return nn.Sequential(nn.Flatten(), m)
    return m


def build(W):
    layers = W["layers"]
    T = {t["name"]: t for t in W["tensors"]}
    rank = len(layers[0]["shape"])
    mods = []
    for k in range(1, len(layers)):
        l = layers[k]
        typ = l["type"]
        if typ in PARAM:
            name = "L%d.weight" % k
            if name in T:
                weight = tensor(T[name])
            else:  # fixed layer written without its tensor
                weight = torch.full((l["out"], l["in"]), float(l["fixed"]))
            bias = tensor(T["L%d.bias" % k]) if l.get("bias") else None
            mod = affine(l, k, weight, bias)
            if k + 1 < len(layers) and layers[k + 1]["type"] == "gated":
                gates = tensor(T["L%d.gates" % (k + 1)])
                gb = T.get("L%d.gate_bias" % (k + 1))
                gbias = tensor(gb) if gb is not None else (torch.zeros(weight.shape[0]) if bias is not None else None)
                mod = Gated(mod, affine(l, k, gates, gbias))
            mods.append(mod)
            if typ == "linear":
                rank = 1
        elif typ == "relu":
            mods.append(nn.ReLU())
        elif typ == "gated":
            pass  # folded into the preceding layer
        elif typ in ("avgpool", "maxpool"):
            nsp = rank - 1
            if l.get("global"):
                ad = {("avgpool", 1): nn.AdaptiveAvgPool1d, ("avgpool", 2): nn.AdaptiveAvgPool2d,
                      ("maxpool", 1): nn.AdaptiveMaxPool1d, ("maxpool", 2): nn.AdaptiveMaxPool2d}[(typ, nsp)]
                mods += [ad(1), nn.Flatten()]
                rank = 1
            else:
                pool = {("avgpool", 1): nn.AvgPool1d, ("avgpool", 2): nn.AvgPool2d,
                        ("maxpool", 1): nn.MaxPool1d, ("maxpool", 2): nn.MaxPool2d}[(typ, nsp)]
                ks = spatial(l.get("kernel"), nsp, None)
                st = spatial(l.get("stride"), nsp, None)
                if st[0] is None:
                    st = ks
                mods.append(pool(ks, stride=st))
        elif typ == "flatten":
            mods.append(nn.Flatten())
            rank = 1
        else:
            raise ValueError("layer %d: unknown type %r" % (k, typ))
    return nn.Sequential(*mods)


def network_regularizer(W):
    """beta * R(theta) of a parallel three-layer network (weights.json "regularizer"):
    layers input, A (branched linear or circconv, m1 units per branch), [relu],
    B (branched linear, one unit per branch), relu, output linear 1;
    path R = sum_k |w3_k| sqrt(sum_j |A_kj|^2 |B_kj|^2), group R = sum_k |w3_k| sum_j |A_kj| |B_kj|,
    |A_kj|^2 including unit kj's bias, B_kj the entries of B's row k that read unit kj."""
    layers = W["layers"]
    T = {t["name"]: tensor(t) for t in W["tensors"]}
    ks = [k for k, l in enumerate(layers) if l["type"] in PARAM]
    a, b, o = ks
    K = layers[a]["branches"]
    A = T["L%d.weight" % a]
    m1 = A.shape[0] // K
    a2 = (A.reshape(A.shape[0], -1) ** 2).sum(dim=1)
    if "L%d.bias" % a in T:
        a2 = a2 + T["L%d.bias" % a] ** 2
    B = T["L%d.weight" % b]                       # [K, K*m1*cols], block-diagonal
    cols = B.shape[1] // (K * m1)
    b2 = torch.stack([(B[k].reshape(K * m1, cols)[k * m1:(k + 1) * m1] ** 2).sum(dim=1) for k in range(K)])
    w3 = T["L%d.weight" % o].reshape(-1).abs()
    a2 = a2.reshape(K, m1)
    if W["regularizer"] == "path":
        R = (w3 * (a2 * b2).sum(dim=1).sqrt()).sum()
    elif W["regularizer"] == "group":
        R = (w3 * (a2.sqrt() * b2.sqrt()).sum(dim=1)).sum()
    else:
        raise ValueError("unknown regularizer %r" % W["regularizer"])
    return W["beta"] * float(R)


def penalties(W):
    layers = W["layers"]
    last = max(k for k, l in enumerate(layers) if l["type"] in PARAM)
    total = 0.0
    for t in W["tensors"]:
        kind = t.get("penalty")
        if W.get("regularizer") and kind == W["regularizer"]:
            continue  # covered by network_regularizer
        if not kind:
            k = int(t["name"].split(".")[0][1:])
            part = t["name"].split(".", 1)[1]
            if part == "weight":
                kind = "none" if layers[k].get("fixed") is not None else "l2"
            elif part == "bias":
                kind = "none" if k == last else "l2"
            else:
                kind = "none"
        T = tensor(t)
        if kind == "l2":
            total += float((T * T).sum())
        elif kind == "l1sq":
            g = t.get("groups") or t["shape"][1]
            blocks = T.reshape(t["shape"][0], g, -1).abs().sum(dim=(0, 2))
            total += float((blocks * blocks).sum())
        elif kind != "none":
            raise ValueError("tensor %s: unknown penalty %r" % (t["name"], kind))
    extra = network_regularizer(W) if W.get("regularizer") else 0.0
    return 0.5 * W["beta"] * total + extra


def loss(kind, p, y):
    if kind in ("", None, "squared"):
        return float(0.5 * ((p - y) ** 2).sum())
    if kind == "hinge":
        return float(torch.clamp(1 - y * p, min=0).sum())
    if kind == "logistic":
        return float(torch.logaddexp(torch.zeros_like(p), -y * p).sum())
    if kind == "cross_entropy":
        return float(torch.nn.functional.cross_entropy(p, y, reduction="sum"))
    raise ValueError("unknown loss %r" % kind)


def evaluate(wpath, dpath):
    with open(wpath) as f:
        W = json.load(f)
    with open(dpath) as f:
        D = json.load(f)
    net = build(W)
    X = torch.tensor(D["X"], dtype=torch.float64).reshape([-1] + list(W["layers"][0]["shape"]))
    with torch.no_grad():
        pred = net(X).reshape(X.shape[0], -1)
    pen = penalties(W)
    out = {"pred": pred.tolist(), "penalty": pen, "loss": None, "objective": None}
    if D.get("Y") is not None:
        Y = torch.tensor(D["Y"], dtype=torch.float64).reshape(pred.shape)
        out["loss"] = loss(W.get("loss"), pred, Y)
        out["objective"] = out["loss"] + pen
    return out


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        sys.stderr.write(__doc__)
        return 2
    res = [evaluate(argv[i], argv[i + 1]) for i in range(0, len(argv), 2)]
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
