#!/usr/bin/python3
"""Solve a cnnc conic program (the JSON export, format "cnnc-conic/1") with CVXOPT.

Usage:  python3 cvxopt_solve.py problem.json  >  result.json

The program is in SCS form (docs/exports.md):
    minimize    cᵀx + ½xᵀPx   subject to   A x + s = b,  s ∈ K,
    K = {0}^z × R₊^l × SOC(q₁)×… × PSD(s₁)×…  (svec rows, off-diagonals ×√2).
It is converted to CVXOPT's form
    minimize    cᵀx + ½xᵀPx   subject to   G x + s' = h,  s' ∈ C,   A_eq x = b_eq
with zero-cone rows as the equalities A_eq x = b_eq, the l and q rows copied to
G, h unchanged, and each PSD block of order k expanded to CVXOPT's full
column-major k×k 's' block: the svec row of diagonal entry (i,i) goes to
position i + i·k; the svec row of an off-diagonal entry (i,j), i > j, divided
by √2, goes to both i + j·k and j + i·k (because S_ij = s_r/√2).
Without P it calls conelp, with P coneqp (P given as the full symmetric matrix).
Box, complex PSD, exponential and power cones have no CVXOPT counterpart: the
script then prints {"status": "unsupported", "message": ...} and exits 0.

Output: one JSON object
    status       "optimal" | "primal infeasible" | "dual infeasible" | "unknown"
                 | "unsupported" | "error" (CVXOPT raised; see "message")
    objective    user scale: objective_scale·(cᵀx + ½xᵀPx) + objective_offset
    raw_objective, dual_objective   cᵀx + ½xᵀPx and CVXOPT's dual objective
    x, y, s      primal x, dual y and slack s in SCS order and sign conventions
                 (Px + Aᵀy + c = 0, y ∈ K*, s = b − Ax; PSD parts as svec)
    iterations, gap, relative_gap, primal_infeasibility, dual_infeasibility
    tolerance    the abstol = reltol = feastol CVXOPT ran with
Tolerances: abstol = reltol = feastol = 1e-9, maxiters = 50 (override with
the environment variables CNNC_CVXOPT_TOL and CNNC_CVXOPT_MAXITERS). When
CVXOPT fails at that tolerance (it can raise a math domain error in its last
iterations, or end "unknown" when its residuals stall near 1e-10 and then
grow), the script retries at 10× and then 100× the tolerance. (At 1e-10 it
stalled that way on several of cnnc's programs, after reaching 1e-10 on all
but the dual residual; the cross-checks compare optima to 1e-6.)
"""
import json
import math
import os
import sys


def svec_positions(k):
    """(i, j) for each svec row of an order-k PSD block, lower triangle by columns."""
    return [(i, j) for j in range(k) for i in range(j, k)]


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: python3 cvxopt_solve.py problem.json\n")
        return 2
    with open(argv[1]) as f:
        prob = json.load(f)
    out = solve(prob)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


def unsupported(msg):
    return {"status": "unsupported", "message": msg}


def solve(prob):
    if prob.get("format") != "cnnc-conic/1":
        return {"status": "error", "message": "not a cnnc-conic/1 file"}
    k = prob["cones"]
    if k.get("bsize", 0) > 0:
        return unsupported("box cone")
    if k.get("cs"):
        return unsupported("complex PSD cone")
    if k.get("ep", 0) or k.get("ed", 0):
        return unsupported("exponential cone")
    if k.get("p"):
        return unsupported("power cone")
    try:
        import cvxopt
        from cvxopt import matrix, spmatrix, solvers
    except ImportError:
        return unsupported("cvxopt not importable")

    m, n = prob["m"], prob["n"]
    b, c = prob["b"], prob["c"]
    A = prob["A"]
    z, l = k["z"], k["l"]
    q = [d for d in k["q"] if d > 0]
    s = [d for d in k["s"] if d > 0]

    # rowmap[r] = list of (target, cvxopt row, factor); target "eq" or "G".
    rowmap = [None] * m
    for r in range(z):
        rowmap[r] = [("eq", r, 1.0)]
    g = 0
    r = z
    for _ in range(l + sum(q)):
        rowmap[r] = [("G", g, 1.0)]
        r += 1
        g += 1
    inv2 = 1.0 / math.sqrt(2.0)
    psd = []  # (first svec row, first G row, order)
    for kk in s:
        psd.append((r, g, kk))
        for (i, j) in svec_positions(kk):
            if i == j:
                rowmap[r] = [("G", g + i + j * kk, 1.0)]
            else:
                rowmap[r] = [("G", g + i + j * kk, inv2), ("G", g + j + i * kk, inv2)]
            r += 1
        g += kk * kk
    if r != m:
        return {"status": "error", "message": "cones cover %d rows, m = %d" % (r, m)}
    ng = g

    GI, GJ, GV, EI, EJ, EV = [], [], [], [], [], []
    colptr, rowidx, vals = A["colptr"], A["rowidx"], A["values"]
    for j in range(n):
        for p in range(colptr[j], colptr[j + 1]):
            for (t, row, f) in rowmap[rowidx[p]]:
                if t == "eq":
                    EI.append(row); EJ.append(j); EV.append(vals[p])
                else:
                    GI.append(row); GJ.append(j); GV.append(vals[p] * f)
    h = [0.0] * ng
    beq = [0.0] * z
    for r in range(m):
        for (t, row, f) in rowmap[r]:
            if t == "eq":
                beq[row] = b[r]
            else:
                h[row] = b[r] * f

    G = spmatrix(GV, GI, GJ, (ng, n), "d")
    hm = matrix(h, (ng, 1), "d")
    cm = matrix(c, (n, 1), "d")
    dims = {"l": l, "q": q, "s": s}
    Aeq = beq_m = None
    if z > 0:
        Aeq = spmatrix(EV, EI, EJ, (z, n), "d")
        beq_m = matrix(beq, (z, 1), "d")

    tol0 = float(os.environ.get("CNNC_CVXOPT_TOL", "1e-9"))
    Pfull = None
    if prob.get("P") is not None:
        P = prob["P"]
        PI, PJ, PV = [], [], []
        for j in range(n):
            for p in range(P["colptr"][j], P["colptr"][j + 1]):
                i = P["rowidx"][p]
                PI.append(i); PJ.append(j); PV.append(P["values"][p])
                if i != j:
                    PI.append(j); PJ.append(i); PV.append(P["values"][p])
        Pfull = spmatrix(PV, PI, PJ, (n, n), "d")
    # CVXOPT sometimes fails numerically near the end of a run: a math
    # domain error in its line search, or (status "unknown") residuals that reach
    # ~1e-10 and then grow again because the last digit of the dual residual is
    # out of reach, until maxiters. Retry with 10× and 100× looser tolerances and
    # report the one that succeeded (the caller judges the point's residuals).
    sol, err = None, None
    for tol in (tol0, 10 * tol0, 100 * tol0):
        opts = {"abstol": tol, "reltol": tol, "feastol": tol,
                "maxiters": int(os.environ.get("CNNC_CVXOPT_MAXITERS", "50")),
                "show_progress": False}
        try:
            if Pfull is not None:
                s_ = solvers.coneqp(Pfull, cm, G, hm, dims, Aeq, beq_m, options=opts)
            else:
                s_ = solvers.conelp(cm, G, hm, dims, Aeq, beq_m, options=opts)
        except (ValueError, ArithmeticError, TypeError) as e:
            err = "%s: %s" % (type(e).__name__, e)
            if "Rank" in str(e) or isinstance(e, TypeError):
                break
            continue
        sol, used_tol = s_, tol
        if sol["status"] != "unknown":
            break
    if sol is None:
        return {"status": "error", "message": err}

    out = {"status": sol["status"], "iterations": sol.get("iterations"), "tolerance": used_tol}
    for key, name in (("gap", "gap"), ("relative gap", "relative_gap"),
                      ("primal infeasibility", "primal_infeasibility"),
                      ("dual infeasibility", "dual_infeasibility"),
                      ("dual objective", "dual_objective")):
        v = sol.get(key)
        out[name] = None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v
    x = sol.get("x")
    if x is not None:
        xs = list(x)
        raw = sum(ci * xi for ci, xi in zip(c, xs))
        if Pfull is not None:
            Px = Pfull * matrix(xs, (n, 1), "d")
            raw += 0.5 * sum(a * bb for a, bb in zip(xs, Px))
        scale = prob.get("objective_scale") or 1.0
        out["x"] = xs
        out["raw_objective"] = raw
        out["objective"] = scale * raw + prob.get("objective_offset", 0.0)
    zv = sol.get("z")
    yv = sol.get("y")
    sv = sol.get("s")
    if zv is not None:
        out["y"] = back(list(yv) if yv is not None else [0.0] * z, list(zv), z, l + sum(q), psd, m)
    if sv is not None:
        out["s"] = back([0.0] * z, list(sv), z, l + sum(q), psd, m)
    return out


def back(eqpart, gpart, z, nlin, psd, m):
    """Map a CVXOPT (equality part, cone part) vector to SCS's row order and svec."""
    outv = [0.0] * m
    outv[:z] = eqpart[:z]
    outv[z:z + nlin] = gpart[:nlin]
    r2 = math.sqrt(2.0)
    for (r0, g0, kk) in psd:
        for t, (i, j) in enumerate(svec_positions(kk)):
            if i == j:
                outv[r0 + t] = gpart[g0 + i + j * kk]
            else:
                outv[r0 + t] = r2 * 0.5 * (gpart[g0 + i + j * kk] + gpart[g0 + j + i * kk])
    return outv


if __name__ == "__main__":
    sys.exit(main(sys.argv))
