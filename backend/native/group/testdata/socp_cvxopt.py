"""Independent reference for backend/native/group: the group-ℓ2 template of
§12 / §2 (docs/math/12-template.md, 02-fc-relu.md) as an SOCP in CVXOPT's own format, solved by cvxopt.solvers.conelp.

    minimize  τ + β Σ_b t_b
    s.t.      ‖(2(ŷ − y), 2τ − 1)‖ ≤ 2τ + 1        (⇔ ½‖ŷ − y‖² ≤ τ)
              ‖x_b‖ ≤ t_b                          (every block b = (f, s, p))
              (CostMaps: ‖T_j x_b‖ ≤ t_bj, cost β Σ_j w_j t_bj instead)
              Sign[r,p]·C_r x_b ≥ 0                (rows with Sign ≠ 0)
    ŷ_i = Σ_f Σ_s s Σ_p Σ_{r: Sample[r] = i} Weight[r,p] A_r x_{f,s,p}  (+ b₀ if bias)

Usage: socp_cvxopt.py in.json out.json. Input: {"n", "y", "beta", "bias", "families": [{"H",
"A", "sample", "weight", "C" (or null), "sign", "signs", optional "maps" (list of T_j)
and "weights" (w_j)}]} with matrices as lists of rows.
Output: {"status", "objective", "dual_objective"}.
"""
import json
import sys

import numpy as np
from cvxopt import matrix, solvers

solvers.options.update(show_progress=False, abstol=1e-9, reltol=1e-9, feastol=1e-9, maxiters=200)

d = json.load(open(sys.argv[1]))
n, y, beta, bias = d["n"], np.array(d["y"], float), d["beta"], d["bias"]
blocks = []  # (family, sign, A, sample, weight column, C, sign column)
for f in d["families"]:
    if f.get("maps"):
        cost = [(np.array(T, float), w) for T, w in zip(f["maps"], f["weights"])]
    else:
        cost = [(np.eye(f["H"]), 1.0)]
    A = np.array(f["A"], float)
    W = np.array(f["weight"], float)
    C = None if f["C"] is None else np.array(f["C"], float)
    S = None if f["C"] is None else np.array(f["sign"], float)
    for s in f["signs"]:
        for p in range(W.shape[1]):
            blocks.append((s, A, f["sample"], W[:, p], C, None if S is None else S[:, p], f["H"], cost))

# variable layout: [x_b ... | t_bj ... | b0 (if bias) | τ]
off, nx = [], 0
for b in blocks:
    off.append(nx)
    nx += b[6]
it0 = nx
toff, nt = [], 0
for b in blocks:
    toff.append(nt)
    nt += len(b[7])
nvar = nx + nt + (1 if bias else 0) + 1
ib = nvar - 2 if bias else None
itau = nvar - 1

c = np.zeros(nvar)
for k, b in enumerate(blocks):
    for j, (T, w) in enumerate(b[7]):
        c[it0 + toff[k] + j] = beta * w
c[itau] = 1.0

J = np.zeros((n, nvar))  # ŷ = J v
for k, (s, A, sample, w, C, sg, H, _) in enumerate(blocks):
    for r, i in enumerate(sample):
        J[i, off[k]:off[k] + H] += s * w[r] * A[r]
if bias:
    J[:, ib] = 1.0

Gl, hl = [], []
for k, (s, A, sample, w, C, sg, H, _) in enumerate(blocks):
    if C is None:
        continue
    for r in range(C.shape[0]):
        if sg[r] == 0 or not np.any(C[r]):
            continue
        g = np.zeros(nvar)
        g[off[k]:off[k] + H] = -sg[r] * C[r]
        Gl.append(g)
        hl.append(0.0)
Gq, hq, qd = [], [], []
# loss cone
g = np.zeros((n + 2, nvar)); h = np.zeros(n + 2)
g[0, itau] = -2; h[0] = 1
g[1:n + 1] = -2 * J; h[1:n + 1] = -2 * y
g[n + 1, itau] = -2; h[n + 1] = -1
Gq.append(g); hq.append(h); qd.append(n + 2)
for k, b in enumerate(blocks):
    H = b[6]
    for j, (T, w) in enumerate(b[7]):
        m = T.shape[0]
        g = np.zeros((m + 1, nvar)); h = np.zeros(m + 1)
        g[0, it0 + toff[k] + j] = -1
        g[1:, off[k]:off[k] + H] = -T
        Gq.append(g); hq.append(h); qd.append(m + 1)
G = np.vstack(([np.array(Gl)] if Gl else []) + Gq)
hv = np.concatenate(([np.array(hl)] if hl else []) + hq)
sol = solvers.conelp(matrix(c), matrix(G), matrix(hv), dims={"l": len(hl), "q": qd, "s": []})
json.dump({"status": sol["status"], "objective": sol["primal objective"],
           "dual_objective": sol["dual objective"]}, open(sys.argv[2], "w"))
