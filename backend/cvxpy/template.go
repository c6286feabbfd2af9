package cvxpy

// scriptSource is the text/template of the exported script. It must stay valid
// Python 3.9+ for every program (the tests compile every example's script).
const scriptSource = `#!/usr/bin/env python3
"""{{.Math}}
Exported by cnnc from model {{.P.Model}}.

Usage: python3 THIS_SCRIPT.py [SOLVER] [-o weights.json] [--eps EPS]
       python3 THIS_SCRIPT.py --solution SOLUTION.npz [-o weights.json]

SOLVER is any solver CVXPY reaches: SCS (default), CVXOPT, CLARABEL, MOSEK, ECOS, ...
The optimum is printed on the scale of the .cnn language (loss summed over the
samples; the convex penalty β·Σ‖blocks‖ equals the network's (β/2)·Σ‖weights‖²), so it
is directly comparable with "convex_objective" in cnnc's report.json. The recovered
network is written as weights.json (cnnc-weights/1), usable with "cnnc predict" and
"cnnc verify". With --solution the script skips CVXPY and only recovers the network
from a solution given as arrays (one per variable below, same names and shapes).
Needs Python >= 3.9, NumPy >= 1.24, SciPy and CVXPY >= 1.4 (NumPy only for --solution).
"""
import argparse
import json
import os

import numpy as np

try:
    import cvxpy as cp
    import scipy.sparse as sp
except ImportError:  # only --solution works without CVXPY
    cp = None

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = json.loads(r"""{{.Recipe}}""")
# Variable blocks of the families: (family key, output sign, variable, pooling window).
BLOCKS = [
{{- range .Families}}{{$f := .}}{{range .Copies}}
    ("{{$f.Key}}", {{py .Sign}}, "{{.Var}}", {{$f.Window}}),
{{- end}}{{end}}
]
# Generic variables and their shapes.
GENERIC = {
{{- range .Generic}}
    "{{.Name}}": {{shape .Shape}},
{{- end}}
}
HAS_BIAS = {{if .P.OutputBias}}True{{else}}False{{end}}


def copositive_nuclear(Z, K, constraints):
    """The copositive relaxation of the cone-constrained nuclear norm of Z (vector
    outputs, relaxation (b)): min ½(tr W1 + tr W2) over [[W1, Z], [Zᵀ, W2]] ⪰ 0 with
    K W1 Kᵀ ≥ 0 entrywise (K: the signed rows of the pattern's cone)."""
    p, q = Z.shape
    W1 = cp.Variable((p, p), symmetric=True)
    W2 = cp.Variable((q, q), symmetric=True)
    constraints.append(cp.bmat([[W1, Z], [Z.T, W2]]) >> 0)
    constraints.append(K @ W1 @ K.T >= 0)
    return 0.5 * (cp.trace(W1) + cp.trace(W2))


def build(data):
    """Builds the convex program; returns (problem, variables by name)."""
    y = data["y"]
    beta = float(data["beta"])
    n = y.shape[0]
    yhat = 0
    reg = 0
    constraints = []
    variables = {}
{{- range .Families}}
{{- $f := .}}

    # Family {{.Name}}: {{.P}} activation patterns, blocks of size {{.H}}.
    # Row r of A feeds sample sample[r]; pattern p weights it by D[r, p].
    {{.Key}}A = data["{{.Key}}A"]
    {{.Key}}D = data["{{.Key}}Weight"]
    {{.Key}}rows = data["{{.Key}}sample"].astype(int)
    {{.Key}}S = sp.csr_matrix((np.ones(len({{.Key}}rows)), ({{.Key}}rows, np.arange(len({{.Key}}rows)))), shape=(n, {{.Key}}A.shape[0]))
{{- range .Copies}}
{{- $c := .}}
    {{.Var}} = cp.Variable(({{$f.P}}, {{$f.H}}), name="{{.Var}}")  # row p is {{.Var}}_p
    variables["{{.Var}}"] = {{.Var}}
    # prediction: ŷ += ({{py .Sign}}) · Σ_p D_p A {{.Var}}_p
    yhat = yhat + {{py .Sign}} * ({{$f.Key}}S @ cp.sum(cp.multiply({{$f.Key}}D, {{$f.Key}}A @ {{.Var}}.T), axis=1))
{{- if $f.HasC}}
    # cone of each pattern: (2D_p − I) C {{.Var}}_p ≥ 0, so the ReLU acts as D_p on {{.Var}}_p
    constraints.append(cp.multiply(data["{{$f.Key}}Sign"], data["{{$f.Key}}C"] @ {{.Var}}.T) >= 0)
{{- end}}
{{- if $f.Maps}}
{{- range $j, $w := $f.MapWeights}}
    reg = reg + {{py $w}} * cp.sum(cp.norm({{$c.Var}} @ data["{{$f.Key}}T{{$j}}"].T, 2, axis=1))
{{- end}}
{{- else}}
    reg = reg + cp.sum(cp.norm({{.Var}}, 2, axis=1))  # Σ_p ‖{{.Var}}_p‖₂ (group lasso)
{{- end}}
{{- end}}
{{- end}}
{{- range .Generic}}
    {{.Name}} = cp.Variable({{shape .Shape}}, name="{{.Name}}")
    variables["{{.Name}}"] = {{.Name}}
{{- end}}
{{- range .Terms}}
    yhat = yhat + {{.}}
{{- end}}
{{- range .Penalties}}
    reg = reg + {{.}}
{{- end}}
{{- range .Constraints}}
    # {{.Why}}
    constraints.append({{.Expr}})
{{- end}}
{{- if .P.OutputBias}}
    b = cp.Variable(name="b")  # unpenalised output bias
    variables["b"] = b
    yhat = yhat + b
{{- end}}
{{- if eq .P.Loss "hinge"}}
    loss = cp.sum(cp.pos(1 - cp.multiply(y, yhat)))
{{- else if eq .P.Loss "logistic"}}
    loss = cp.sum(cp.logistic(-cp.multiply(y, yhat)))
{{- else if eq .P.Loss "cross_entropy"}}
    # vector output: ŷ and y are vec(Ŷ), vec(Y) of n × {{.P.Outputs}}, column by column
    Yh = cp.reshape(yhat, (n // {{.P.Outputs}}, {{.P.Outputs}}), order="F")
    Yv = np.reshape(y, (n // {{.P.Outputs}}, {{.P.Outputs}}), order="F")
    loss = cp.sum(cp.log_sum_exp(Yh, axis=1)) - cp.sum(cp.multiply(Yv, Yh))
{{- else}}
    loss = 0.5 * cp.sum_squares(yhat - y)
{{- end}}
    problem = cp.Problem(cp.Minimize(loss + beta * reg), constraints)
    return problem, variables


def family_units(data, values):
    """Units of a family program (§1.3, docs/math/01-machinery.md): every block x with
    ‖x‖ > zero_tol·max‖x‖ gives u = x/√‖x‖ and w = ±√‖x‖ at its pooling window."""
    R = RECIPE
    big = 0.0
    for _, _, name, _ in BLOCKS:
        V = values[name]
        if V.size:
            big = max(big, float(np.linalg.norm(V, axis=1).max()))
    units = []  # (incoming weights u, outgoing weights w, gate or None)
    for key, sign, name, win in BLOCKS:
        V = values[name]
        norms = np.linalg.norm(V, axis=1)
        for p in range(V.shape[0]):
            if norms[p] == 0 or norms[p] <= R["zero_tol"] * big:
                continue
            s = np.sqrt(norms[p])
            w = np.zeros(R["slots"])
            w[win] = sign * s
            gate = data[key + "gates"][:, p] if R["gated"] else None
            units.append((V[p] / s, w, gate))
    return units


def nuclear_units(Z, tol):
    """§7.2 (docs/math/07-linear-cnn.md): Z = Σ_t σ_t a_t b_tᵀ (SVD); each σ_t > tol·σ_max gives u = √σ_t a_t, w = √σ_t b_t."""
    if Z.size == 0:
        return []
    a, sv, bt = np.linalg.svd(Z, full_matrices=False)
    units = []
    for t, s in enumerate(sv):
        if s <= tol * max(sv[0], 1e-300) or s <= 0:
            continue
        r = np.sqrt(s)
        units.append((r * a[:, t], r * bt[t, :], None))
    return units


def fourier_units(zeta, tol, P):
    """§7.3 (docs/math/07-linear-cnn.md): one unit per frequency pair (k, d−k) with |ζ_k| = ρ > tol·max|ζ|:
    |û_k| = ŵ_k = √(ρ/√d), arg û_k = arg conj(ζ_k) − 2πkP/d, u = Fᴴû, w = Fᴴŵ."""
    d = zeta.shape[0]
    sq = np.sqrt(d)
    z = zeta[:, 0] + 1j * zeta[:, 1]
    top = float(np.abs(z).max()) if d else 0.0
    units = []
    for k in range(d // 2 + 1):
        kk = (d - k) % d
        zk = z[k]
        if kk != k:
            zk = (zk + np.conj(z[kk])) / 2  # average the pair: exact conjugate symmetry
        else:
            zk = complex(zk.real, 0)
        rho = abs(zk)
        if rho <= tol * top:
            continue
        G = np.conj(zk)
        shift = -2 * np.pi * ((k * P) % d) / d
        mag = np.sqrt(rho / sq)
        uh = mag * np.exp(1j * (np.angle(G) + shift))
        e = np.exp(2j * np.pi * ((k * np.arange(d)) % d) / d)
        if kk == k:
            u = np.real(uh.real * e) / sq
            w = np.real(mag * e) / sq
        else:
            u = 2 * np.real(uh * e) / sq
            w = 2 * mag * np.real(e) / sq
        units.append((u, w, None))
    return units


def three_cost(T, x):
    """The block cost R(x) of a three-layer program (path, group or circ3)."""
    if T["kind"] == "circ3":
        return float(np.abs(np.fft.fft(x)).sum()) / len(x)  # ‖F x‖₁/√d, F unitary
    if T["regularizer"] == "group":
        return float(np.linalg.norm(x.reshape(T["m1"], T["h"]), axis=1).sum())
    return float(np.linalg.norm(x))


def circ_factor(v, P):
    """§8: v = effective filter → unit-norm circular filter a (cnnc's circconv layout),
    ReLU unit b and output magnitude c = √(‖F v‖₁/√d), with b ⊛ a′ = v/c."""
    d = len(v)
    sq = np.sqrt(d)
    vh = np.fft.fft(v) / sq
    l1 = float(np.abs(vh).sum())
    c = np.sqrt(l1 / sq)
    mag = np.abs(vh)
    ah = np.where(mag > 0, np.sqrt(mag / l1), 0.0)
    bh = np.where(mag > 0, (vh / c) / (sq * np.where(mag > 0, ah, 1.0)), 0.0)
    ar = np.real(np.fft.ifft(ah)) * sq
    b = np.real(np.fft.ifft(bh)) * sq
    a = ar[(np.arange(d) - P) % d]
    return a, b, c


def three_weights(data, values):
    """§8 and §9b: one branch per block above tol in balanced form (see the Go
    recovery in compiler/derive circ3.go and threelayer.go)."""
    R = RECIPE
    T = R["three"]
    m1, h = T["m1"], T["h"]
    big = 0.0
    for _, _, name, _ in BLOCKS:
        for x in values[name]:
            big = max(big, three_cost(T, x))
    branches = []  # (m1 × h first-layer units, m1 × cols second-layer weights, w3)
    for key, sigma, name, _ in BLOCKS:
        for x in values[name]:
            r = three_cost(T, x)
            if r == 0 or r <= T["tol"] * big:
                continue
            if T["kind"] == "circ3":
                a, b, c = circ_factor(np.asarray(x, dtype=float), T["padding"])
                branches.append((a.reshape(1, h), b.reshape(1, h), sigma * c))
                continue
            s = T["signs"][key]
            q = np.asarray(x, dtype=float).reshape(m1, h)
            nj = np.linalg.norm(q, axis=1)
            S, Q = float(nj.sum()), float(np.sqrt((nj ** 2).sum()))
            w1 = np.zeros((m1, h))
            w2 = np.zeros((m1, 1))
            for j in range(m1):
                if nj[j] == 0:
                    continue
                if T["regularizer"] == "group":
                    w1[j] = q[j] / nj[j] * np.sqrt(nj[j] / S)
                    w2[j, 0] = s[j] * np.sqrt(nj[j])
                else:
                    w1[j] = q[j] / nj[j]
                    w2[j, 0] = s[j] * nj[j] / np.sqrt(Q)
            w3 = sigma * (np.sqrt(S) if T["regularizer"] == "group" else np.sqrt(Q))
            branches.append((w1, w2, w3))
    K = len(branches)
    if T["max_branches"] and K > T["max_branches"]:
        raise SystemExit("the optimal network needs %d branches but the model allows %d; the "
                         "reformulation is exact only with branches >= %d (use auto)" % (K, T["max_branches"], K))
    cols = T["second_cols"]
    while K == 0 or K < T["max_branches"]:
        branches.append((np.zeros((m1, h)), np.zeros((m1, cols)), 0.0))
        K += 1
    W1 = np.concatenate([b[0] for b in branches])  # (K·m1) × h
    W2 = np.zeros((K, K * m1 * cols))
    for k, b in enumerate(branches):
        W2[k, k * m1 * cols:(k + 1) * m1 * cols] = b[1].ravel()
    reg = T["regularizer"]
    f, s2, o = T["first"], T["second"], T["output"]
    tensors = []
    if T["first_bias"]:
        tensors.append({"name": "L%d.weight" % f, "shape": [K * m1] + T["first_shape"], "data": W1[:, :-1].ravel().tolist(), "penalty": reg})
        tensors.append({"name": "L%d.bias" % f, "shape": [K * m1], "data": W1[:, -1].tolist(), "penalty": reg})
    else:
        tensors.append({"name": "L%d.weight" % f, "shape": [K * m1] + T["first_shape"], "data": W1.ravel().tolist(), "penalty": reg})
    tensors.append({"name": "L%d.weight" % s2, "shape": [K, K * m1 * cols], "data": W2.ravel().tolist(), "penalty": reg})
    tensors.append({"name": "L%d.weight" % o, "shape": [1, K], "data": [float(b[2]) for b in branches], "penalty": reg})
    if HAS_BIAS:
        tensors.append({"name": "L%d.bias" % o, "shape": [1], "data": [float(values["b"])], "penalty": "none"})
    layers = [dict(layer) for layer in R["layers"]]
    for layer in layers:
        if layer["index"] in (f, s2):
            layer["branches"] = K
            layer.pop("out", None)  # resolved from the tensors
            layer.pop("in", None)
    return {"format": "cnnc-weights/1", "model": R["model"], "beta": R["beta"], "loss": R["loss"],
            "regularizer": reg, "layers": layers, "tensors": tensors}


def recover(data, values):
    """Maps a solution (NumPy arrays by variable name) to weights.json (cnnc-weights/1),
    exactly as cnnc's own recovery (compiler/derive) does."""
    R = RECIPE
    if R.get("unsupported"):
        print(R["unsupported"])
        raise SystemExit(4)
    if R.get("three"):
        return three_weights(data, values)
    G = R.get("generic")
    if G is None:
        units = family_units(data, values)
    elif G["kind"] == "nuclear":
        units = nuclear_units(np.asarray(values[G["var"]], dtype=float), G["tol"])
    elif G["kind"] == "fourier":
        units = fourier_units(np.asarray(values[G["var"]], dtype=float), G["tol"], G["padding"])
    else:
        raise SystemExit("unknown recovery %r" % G["kind"])
    m = len(units)
    if R["max_units"] and m > R["max_units"]:
        raise SystemExit("the optimal network needs %d hidden units but the model allows %d; the "
                         "reformulation is exact only with width >= %d (use auto)" % (m, R["max_units"], m))
    size = int(np.prod(R["hidden_shape"])) + int(R["hidden_bias"])
    if m == 0 and R["empty_unit"]:
        units, m = [(np.zeros(size), np.zeros(R["slots"]), None)], 1  # one zero unit, penalty 0
    U = np.array([u for u, _, _ in units], dtype=float).reshape(m, size)
    W = np.array([w for _, w, _ in units], dtype=float).reshape(m, R["slots"])
    h, o = R["hidden"], R["output"]
    tensors = []
    if R["hidden_bias"]:
        tensors.append({"name": "L%d.bias" % h, "shape": [m], "data": U[:, -1].tolist(), "penalty": "l2"})
        U = U[:, :-1]
    tensors.append({"name": "L%d.weight" % h, "shape": [m] + R["hidden_shape"], "data": U.ravel().tolist(), "penalty": "l2"})
    if R["gated"]:
        gates = np.array([g for _, _, g in units], dtype=float).reshape(m, size)
        if R["hidden_bias"]:
            tensors.append({"name": "L%d.gate_bias" % R["gate_layer"], "shape": [m], "data": gates[:, -1].tolist(), "penalty": "none"})
            gates = gates[:, :-1]
        tensors.append({"name": "L%d.gates" % R["gate_layer"], "shape": [m] + R["hidden_shape"], "data": gates.ravel().tolist(), "penalty": "none"})
    tensors.append({"name": "L%d.weight" % o, "shape": [1, m * R["slots"]], "data": W.ravel().tolist(), "penalty": R["output_penalty"]})
    if HAS_BIAS:
        tensors.append({"name": "L%d.bias" % o, "shape": [1], "data": [float(values["b"])], "penalty": "none"})
    layers = [dict(layer) for layer in R["layers"]]
    for layer in layers:
        if layer["index"] == h:
            layer["out"] = m
        if layer["index"] == o:
            layer["in"] = m * R["slots"]
    return {"format": "cnnc-weights/1", "model": R["model"], "beta": R["beta"], "loss": R["loss"],
            "layers": layers, "tensors": tensors}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("solver", nargs="?", default="SCS", help="a CVXPY solver name (default SCS)")
    ap.add_argument("-o", "--weights", default=os.path.join(HERE, "weights.json"), help="where to write the recovered network")
    ap.add_argument("--eps", type=float, default=1e-8, help="solver tolerance where the solver takes one")
    ap.add_argument("--solution", help="recover from this .npz of variable values instead of solving (no CVXPY needed)")
    args = ap.parse_args()
    data = np.load(os.path.join(HERE, "{{.DataName}}"))
    if args.solution:
        sol = np.load(args.solution)
        names = [name for _, _, name, _ in BLOCKS] + list(GENERIC) + (["b"] if HAS_BIAS else [])
        missing = [name for name in names if name not in sol.files]
        if missing:
            raise SystemExit("%s lacks the variables %s" % (args.solution, ", ".join(missing)))
        values = {name: np.asarray(sol[name], dtype=float) for name in names}
        for name, shape in GENERIC.items():
            if values[name].shape != shape:
                raise SystemExit("%s: %s has shape %s, want %s" % (args.solution, name, values[name].shape, shape))
    else:
        if cp is None:
            raise SystemExit("CVXPY is not installed (pip install cvxpy); only --solution works without it")
        problem, variables = build(data)
        opts = {}
        if args.solver.upper() == "SCS":
            opts = {"eps_abs": args.eps, "eps_rel": args.eps, "max_iters": 1000000}
        elif args.solver.upper() == "CVXOPT":
            opts = {"abstol": args.eps, "reltol": args.eps, "feastol": args.eps, "max_iters": 500}
        problem.solve(solver=args.solver.upper(), **opts)
        print("status:", problem.status)
        if problem.status not in ("optimal", "optimal_inaccurate"):
            raise SystemExit(3)
        print("optimum: %.12g" % problem.value)
        values = {name: np.asarray(var.value, dtype=float) for name, var in variables.items()}
    weights = recover(data, values)
    tmp = args.weights + ".tmp"
    with open(tmp, "w") as f:
        json.dump(weights, f)
    os.replace(tmp, args.weights)
    print("weights:", args.weights)


if __name__ == "__main__":
    main()
`
