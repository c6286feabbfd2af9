package cvxpy

// scriptSource is the text/template of the exported script. It must stay valid
// Python 3.9+ for every program (the tests compile every example's script).
const scriptSource = `#!/usr/bin/env python3
"""{{.Math}}
Exported by cnnc from model {{.P.Model}}.

Usage: python3 THIS_SCRIPT.py [SOLVER] [-o weights.json] [--eps EPS]

SOLVER is any solver CVXPY reaches: SCS (default), CVXOPT, CLARABEL, MOSEK, ECOS, ...
The optimum is printed on the scale of the .cnn language (loss summed over the
samples; the convex penalty β·Σ‖blocks‖ equals the network's (β/2)·Σ‖weights‖²), so it
is directly comparable with "convex_objective" in cnnc's report.json. The recovered
network is written as weights.json (cnnc-weights/1), usable with "cnnc predict".
Needs Python >= 3.9, NumPy >= 1.24, SciPy and CVXPY >= 1.4.
"""
import argparse
import json
import os

import numpy as np
import scipy.sparse as sp
import cvxpy as cp

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = json.loads(r"""{{.Recipe}}""")


def build(data):
    """Builds the convex program; returns (problem, blocks, generic variables, bias)."""
    y = data["y"]
    beta = float(data["beta"])
    n = y.shape[0]
    yhat = 0
    reg = 0
    constraints = []
    blocks = []  # (family key, output sign of the copy, variable, pooling window)
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
    blocks.append(("{{$f.Key}}", {{py .Sign}}, {{.Var}}, {{$f.Window}}))
{{- end}}
{{- end}}
    generic = {}
{{- range .Generic}}
    {{.Name}} = cp.Variable({{shape .Shape}}, name="{{.Name}}")
    generic["{{.Name}}"] = {{.Name}}
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
    bias = None
{{- if .P.OutputBias}}
    bias = cp.Variable(name="b")  # unpenalised output bias
    yhat = yhat + bias
{{- end}}
{{- if eq .P.Loss "hinge"}}
    loss = cp.sum(cp.pos(1 - cp.multiply(y, yhat)))
{{- else if eq .P.Loss "logistic"}}
    loss = cp.sum(cp.logistic(-cp.multiply(y, yhat)))
{{- else}}
    loss = 0.5 * cp.sum_squares(yhat - y)
{{- end}}
    problem = cp.Problem(cp.Minimize(loss + beta * reg), constraints)
    return problem, blocks, generic, bias


def recover(data, blocks, generic, bias):
    """Maps the solution to network weights (formulations.md weight recovery)."""
    R = RECIPE
    layers = [dict(layer) for layer in R["layers"]]
    tensors = []
    if blocks:
        values = [(key, sign, var.value, win) for key, sign, var, win in blocks]
        big = max([float(np.linalg.norm(v, axis=1).max()) for _, _, v, _ in values if v.size] + [0.0])
        units_in, units_out, gates = [], [], []
        for key, sign, V, win in values:
            norms = np.linalg.norm(V, axis=1)
            for p in range(V.shape[0]):
                if big == 0 or norms[p] <= R["zero_tol"] * big:
                    continue
                s = np.sqrt(norms[p])
                units_in.append(V[p] / s)  # u = x/√‖x‖
                out = np.zeros(R["slots"])
                out[win] = sign * s  # α = ±√‖x‖
                units_out.append(out)
                if R["gated"]:
                    gates.append(data[key + "gates"][:, p])
        m = len(units_in)
        U = np.array(units_in).reshape(m, -1) if m else np.zeros((0, int(np.prod(R["hidden_shape"])) + int(R["hidden_bias"])))
        h = R["hidden"]
        if R["hidden_bias"]:
            tensors.append({"name": "L%d.bias" % h, "shape": [m], "data": U[:, -1].tolist()})
            U = U[:, :-1]
        tensors.append({"name": "L%d.weight" % h, "shape": [m] + R["hidden_shape"], "data": U.ravel().tolist()})
        if R["gated"]:
            G = np.array(gates).reshape(m, -1) if m else U * 0
            if R["hidden_bias"]:
                tensors.append({"name": "L%d.gate_bias" % R["gate_layer"], "shape": [m], "data": G[:, -1].tolist(), "penalty": "none"})
                G = G[:, :-1]
            tensors.append({"name": "L%d.gates" % R["gate_layer"], "shape": [m] + R["hidden_shape"], "data": G.ravel().tolist(), "penalty": "none"})
        W2 = np.array(units_out).reshape(m, R["slots"]) if m else np.zeros((0, R["slots"]))
        o = R["output"]
        tensors.append({"name": "L%d.weight" % o, "shape": [1, m * R["slots"]], "data": W2.ravel().tolist(), "penalty": R["output_penalty"]})
        for layer in layers:
            if layer["index"] == h:
                layer["out"] = m
            if layer["index"] == o:
                layer["in"] = m * R["slots"]
    if generic:
        raise SystemExit("this script cannot recover weights for this architecture yet; the optimum above is still valid")
    if bias is not None:
        tensors.append({"name": "L%d.bias" % R["output"], "shape": [1], "data": [float(bias.value)], "penalty": "none"})
    return {"format": "cnnc-weights/1", "model": R["model"], "beta": R["beta"], "loss": R["loss"],
            "layers": layers, "tensors": tensors}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("solver", nargs="?", default="SCS", help="a CVXPY solver name (default SCS)")
    ap.add_argument("-o", "--weights", default=os.path.join(HERE, "weights.json"), help="where to write the recovered network")
    ap.add_argument("--eps", type=float, default=1e-8, help="solver tolerance where the solver takes one")
    args = ap.parse_args()
    data = np.load(os.path.join(HERE, "{{.DataName}}"))
    problem, blocks, generic, bias = build(data)
    opts = {}
    if args.solver.upper() == "SCS":
        opts = {"eps_abs": args.eps, "eps_rel": args.eps, "max_iters": 1000000}
    elif args.solver.upper() == "CVXOPT":
        opts = {"abstol": args.eps, "reltol": args.eps, "feastol": args.eps, "max_iters": 500}
    problem.solve(solver=args.solver.upper(), **opts)
    print("status:", problem.status)
    print("optimum: %.12g" % problem.value)
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise SystemExit(3)
    weights = recover(data, blocks, generic, bias)
    tmp = args.weights + ".tmp"
    with open(tmp, "w") as f:
        json.dump(weights, f)
    os.replace(tmp, args.weights)
    print("weights:", args.weights)


if __name__ == "__main__":
    main()
`
