"""Independent reference for template programs (families only): the program
   minimize  loss(ŷ) + β Σ_b R_b(x_b)    s.t.  Sign[r,p]·C_r x_b ≥ 0
   ŷ_i = Σ_f Σ_s s Σ_p Σ_{r: Sample[r] = i} Weight[r,p] A_r x_{f,s,p}  (+ b₀ if bias)
built from the program's own data (not from cnnc's conic form) and solved by CVXOPT:

  squared   τ with ½‖ŷ − y‖² ≤ τ as ‖(2(ŷ − y), 2τ − 1)‖ ≤ 2τ + 1     conelp (SOCP)
  hinge     e ≥ 0, e ≥ 1 − y∘ŷ, cost Σe                          conelp (LP + SOCs)
  logistic  Σ log(1 + exp(−yᵢŷᵢ)) as the objective of solvers.cp (CVXOPT has no
            exponential cone: cp's nonlinear objective with gradient and Hessian)

R_b = ‖x_b‖₂ (epigraph t_b, SOC) or Σ_j w_j‖T_j x_b‖₂ (one SOC per map).

Usage: cvxopt_program.py in.json out.json. Input: {"n", "y", "beta", "bias", "loss",
"families": [{"H", "A", "sample", "weight", "C" (or null), "sign", "signs",
"maps" (or null: [[rows of T_j], ...]), "map_weights"}]} (matrices as lists of rows).
Output: {"status", "objective", "tolerance"}.
"""
import json
import sys

import numpy as np
from cvxopt import matrix, solvers, spmatrix

d = json.load(open(sys.argv[1]))
n, y, beta, bias, loss = d["n"], np.array(d["y"], float), d["beta"], d["bias"], d["loss"] or "squared"
blocks = []  # (sign, A, sample, weight column, C, sign column, H, maps, map weights)
for f in d["families"]:
    A = np.array(f["A"], float)
    W = np.array(f["weight"], float)
    C = None if f["C"] is None else np.array(f["C"], float)
    S = None if f["C"] is None else np.array(f["sign"], float)
    maps = None if not f.get("maps") else [np.array(T, float) for T in f["maps"]]
    for s in f["signs"]:
        for p in range(W.shape[1]):
            blocks.append((s, A, f["sample"], W[:, p], C, None if S is None else S[:, p], f["H"], maps, f.get("map_weights")))

# variable layout: [x_b ... | t (one per block, or one per map) | b0 (if bias) | loss vars]
off, nx = [], 0
for b in blocks:
    off.append(nx)
    nx += b[6]
tcols = []  # per block: list of (t column, T, w)
nv = nx
for b in blocks:
    if b[7] is None:
        tcols.append([(nv, np.eye(b[6]), 1.0)])
        nv += 1
    else:
        tcols.append([(nv + j, T, b[8][j]) for j, T in enumerate(b[7])])
        nv += len(b[7])
ib = None
if bias:
    ib = nv
    nv += 1
if loss == "squared":
    itau = nv
    nv += 1
elif loss == "hinge":
    ie = nv
    nv += n

c = np.zeros(nv)
for tc in tcols:
    for (col, T, w) in tc:
        c[col] = beta * w

J = np.zeros((n, nv))  # ŷ = J v
for k, (s, A, sample, w, C, sg, H, _, _) in enumerate(blocks):
    for r, i in enumerate(sample):
        if w[r] != 0:
            J[i, off[k]:off[k] + H] += s * w[r] * A[r]
if bias:
    J[:, ib] = 1.0

Gl, hl = [], []
for k, (s, A, sample, w, C, sg, H, _, _) in enumerate(blocks):
    if C is None:
        continue
    for r in range(C.shape[0]):
        if sg[r] == 0 or not np.any(C[r]):
            continue
        g = np.zeros(nv)
        g[off[k]:off[k] + H] = -sg[r] * C[r]
        Gl.append(g)
        hl.append(0.0)
if loss == "hinge":
    for i in range(n):
        g = np.zeros(nv); g[ie + i] = -1
        Gl.append(g); hl.append(0.0)
        g = np.zeros(nv); g[ie + i] = -1; g -= y[i] * J[i]
        Gl.append(g); hl.append(-1.0)
    c[ie:ie + n] = 1.0
Gq, hq, qd = [], [], []
if loss == "squared":
    c[itau] = 1.0
    g = np.zeros((n + 2, nv)); h = np.zeros(n + 2)
    g[0, itau] = -2; h[0] = 1
    g[1:n + 1] = -2 * J; h[1:n + 1] = -2 * y
    g[n + 1, itau] = -2; h[n + 1] = -1
    Gq.append(g); hq.append(h); qd.append(n + 2)
for k, b in enumerate(blocks):
    H = b[6]
    for (col, T, w) in tcols[k]:
        g = np.zeros((T.shape[0] + 1, nv)); h = np.zeros(T.shape[0] + 1)
        g[0, col] = -1
        g[1:, off[k]:off[k] + H] = -T
        Gq.append(g); hq.append(h); qd.append(T.shape[0] + 1)
G = np.vstack(([np.array(Gl)] if Gl else []) + Gq)
hv = np.concatenate(([np.array(hl)] if hl else []) + hq)
dims = {"l": len(hl), "q": qd, "s": []}
# sparse G: the cone rows touch one block each (dense G makes CVXOPT's KKT solves
# minutes long on the CNN programs)
I, Jc = np.nonzero(G)
Gs = spmatrix(G[I, Jc].tolist(), I.tolist(), Jc.tolist(), G.shape)


def sigmoid(t):
    return np.where(t >= 0, 1 / (1 + np.exp(-np.abs(t))), np.exp(-np.abs(t)) / (1 + np.exp(-np.abs(t))))


def softplus(t):
    return np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))


def F(x=None, z=None):
    if x is None:
        return 0, matrix(0.0, (nv, 1))
    v = np.array(x).ravel()
    yh = J @ v
    t = -y * yh
    f = softplus(t).sum() + c @ v
    s = sigmoid(t)  # σ(−yŷ)
    grad = J.T @ (-y * s) + c
    if z is None:
        return matrix(f), matrix(grad).T
    Hm = J.T @ (J * (y * y * s * (1 - s))[:, None])
    return matrix(f), matrix(grad).T, matrix(z[0] * Hm)


res = None
for tol in (1e-10, 1e-9, 1e-8):
    solvers.options.update(show_progress=False, abstol=tol, reltol=tol, feastol=tol, maxiters=300)
    try:
        if loss == "logistic":
            # LDL: the default Cholesky KKT solver stops on a singular KKT matrix near
            # the optimum (most blocks are zero there)
            sol = solvers.cp(F, G=Gs, h=matrix(hv), dims=dims, kktsolver="ldl")
            v = np.array(sol["x"]).ravel()
            obj = float(softplus(-y * (J @ v)).sum() + c @ v)
        else:
            sol = solvers.conelp(matrix(c), Gs, matrix(hv), dims=dims)
            obj = sol["primal objective"]
    except (ArithmeticError, ValueError) as e:
        res = {"status": "error", "objective": None, "tolerance": tol, "message": str(e)}
        continue
    res = {"status": sol["status"], "objective": obj, "tolerance": tol}
    if sol["status"] == "optimal":
        break
json.dump(res, open(sys.argv[2], "w"))
