package cvxpy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// writeAnchored writes the script and data of an anchored program (§11,
// convex.Anchored): arrays X (N·K × H, row k·N + i = x_ik), c, y, anchor and eps; the
// script builds the LP (or SOCP when ε > 0) with CVXPY, and recovers weights.json as
// derive's recoverFixedOut does (the conv filter from w, unpenalised; the fixed
// output layer materialised). The Recipe's Hidden, HiddenShape, HiddenBias and
// Output name the conv and output layers.
func writeAnchored(script, data io.Writer, dataName string, p *convex.Program, r *Recipe) error {
	a := p.Anchored
	if r == nil {
		return fmt.Errorf("no recovery recipe")
	}
	arrays := map[string]Array{
		"X":      dense(a.X),
		"c":      {Shape: []int{a.K}, Data: append([]float64(nil), a.C...)},
		"y":      {Shape: []int{len(p.Y)}, Data: append([]float64(nil), p.Y...)},
		"anchor": {Shape: []int{a.H}, Data: append([]float64(nil), a.Anchor...)},
		"eps":    {Shape: []int{}, Data: []float64{a.Eps}},
	}
	recipe, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	var doc strings.Builder
	fmt.Fprintf(&doc, "%s (%s, docs/math/11-fixed-output.md)\n", p.Theorem, p.Section)
	fmt.Fprintf(&doc, "\n    minimize   −aᵀw   (the relaxation maximises aᵀw, a = the least-squares anchor)\n")
	fmt.Fprintf(&doc, "    subject to t ≥ 0,  t ≥ X w,  Σ_k c_k t_(k·N+i) ≤ y_i")
	if a.Eps > 0 {
		fmt.Fprintf(&doc, " + s_i,  ‖s‖₂ ≤ ε = %g   (an SOCP)\n", a.Eps)
	} else {
		fmt.Fprintf(&doc, "   (an LP)\n")
	}
	fmt.Fprintf(&doc, "    with N = %d samples, K = %d positions, filters of H = %d values; row k·N + i of X\n", p.N, a.K, a.H)
	fmt.Fprintf(&doc, "    is the patch x_ik, so the network's output is f_i(w) = Σ_k c_k (x_ikᵀw)₊.\n")
	view := struct {
		Doc, Model, Recipe, DataName string
		N, K, H                      int
	}{doc.String(), p.Model, string(recipe), dataName, p.N, a.K, a.H}
	var buf bytes.Buffer
	if err := anchoredTmpl.Execute(&buf, view); err != nil {
		return err
	}
	if _, err := script.Write(buf.Bytes()); err != nil {
		return err
	}
	return WriteNPZ(data, arrays)
}

// writeAnchoredSolution writes w, t (and s) for the script's --solution.
func writeAnchoredSolution(w io.Writer, p *convex.Program, s *convex.Solution) error {
	a := p.Anchored
	arrays := map[string]Array{}
	want := map[string]int{convex.AnchoredW: a.H, convex.AnchoredT: p.N * a.K}
	if a.Eps > 0 {
		want[convex.AnchoredS] = p.N
	}
	for name, size := range want {
		x := s.Vars[name]
		if len(x) != size {
			return fmt.Errorf("solution has no %d-entry variable %s", size, name)
		}
		arrays[name] = Array{Shape: []int{size}, Data: append([]float64(nil), x...)}
	}
	return WriteNPZ(w, arrays)
}

var anchoredTmpl = template.Must(template.New("anchored").Parse(`#!/usr/bin/env python3
"""{{.Doc}}
Exported by cnnc from model {{.Model}}.

Usage: python3 THIS_SCRIPT.py [SOLVER] [-o weights.json] [--eps EPS]
       python3 THIS_SCRIPT.py --solution SOLUTION.npz [-o weights.json]

SOLVER is any solver CVXPY reaches: SCS (default), CVXOPT, CLARABEL, MOSEK, ECOS, ...
The optimum printed is −aᵀw, the "convex_objective" of cnnc's report.json. The
recovered network (the filter w in the conv layer, the fixed output weights) is
written as weights.json (cnnc-weights/1), usable with "cnnc predict" and
"cnnc verify" (which recomputes the zero-loss certificate). With --solution the
script skips CVXPY and only recovers the network from arrays w (and t, s).
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
N, K, H = {{.N}}, {{.K}}, {{.H}}


def build(data):
    """Builds the relaxation; returns (problem, variables by name)."""
    X, c, y, a = data["X"], data["c"], data["y"], data["anchor"]
    eps = float(data["eps"])
    w = cp.Variable(H, name="w")
    t = cp.Variable(N * K, name="t")
    pool = sp.kron(sp.csr_matrix(c.reshape(1, K)), sp.eye(N), format="csr")  # (Σ_k c_k t_(k·N+i))_i
    constraints = [t >= 0, t >= X @ w]
    variables = {"w": w, "t": t}
    if eps > 0:
        s = cp.Variable(N, name="s")
        variables["s"] = s
        constraints += [pool @ t <= y + s, cp.norm(s, 2) <= eps]
    else:
        constraints += [pool @ t <= y]
    return cp.Problem(cp.Minimize(-a @ w), constraints), variables


def recover(values):
    """weights.json (cnnc-weights/1) of the filter w, as cnnc's recovery writes it."""
    R = RECIPE
    w = np.asarray(values["w"], dtype=float).ravel()
    h, o = R["hidden"], R["output"]
    size = int(np.prod(R["hidden_shape"]))
    tensors = [{"name": "L%d.weight" % h, "shape": [1] + R["hidden_shape"], "data": w[:size].tolist(), "penalty": "none"}]
    if R["hidden_bias"]:
        tensors.append({"name": "L%d.bias" % h, "shape": [1], "data": w[size:size + 1].tolist(), "penalty": "none"})
    layers = [dict(layer) for layer in R["layers"]]
    for layer in layers:
        if layer["index"] == h:
            layer["out"] = 1
        if layer["index"] == o:
            n_in = layer.get("in", 1)
            tensors.append({"name": "L%d.weight" % o, "shape": [1, n_in], "data": [layer["fixed"]] * n_in, "penalty": "none"})
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
        if "w" not in sol.files or sol["w"].shape != (H,):
            raise SystemExit("%s lacks the variable w of shape (%d,)" % (args.solution, H))
        values = {"w": sol["w"]}
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
    weights = recover(values)
    tmp = args.weights + ".tmp"
    with open(tmp, "w") as f:
        json.dump(weights, f)
    os.replace(tmp, args.weights)
    print("weights:", args.weights)


if __name__ == "__main__":
    main()
`))
