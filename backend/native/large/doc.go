// Package large is the structured native solver for template programs with many
// samples: programs made only of convex.Family blocks with cost ‖·‖₂ and squared
// loss (the template of §12, docs/math/12-template.md: two-layer ReLU, gated ReLU,
// CNNs with average, windowed and max pooling), solved with memory and Newton
// systems that do not grow with n beyond the data and one pass over it.
//
// Input: a *convex.Program (backend/convex), an optional warm start and Settings.
// Output: a Result with the solution in the program's terms (convex.Solution), its
// objective recomputed from the program's data, a certified lower bound Dual, the dual
// point that certifies it (Result.DualPoint, DualRho) and a status from
// backend/solver. compiler/train reaches it through NativeTemplate (methods "ipm" and
// "al"); the pipeline recomputes the reported certificate from DualPoint
// (certify.CertifyDual), so Dual is never taken on trust.
//
// # Problem
//
//	minimize   ½‖Π(ŷ − y)‖² + β Σ_k ‖x_k‖₂            k = (pattern p, copy s)
//	ŷ          = Σ_p 𝒫_p u_p,   u_p = Σ_{k ∈ p} s_k x_k
//	subject to 𝒞_p x_k ≥ 0
//
// Π centres when the program has an output bias (the bias is then the mean residual).
// The prediction depends on the blocks only through the pattern-space vector u of
// dimension nu = Σ_p H_p, so the loss is ½uᵀGu − cᵀu + ½‖Πy‖² with the pattern Gram
// G = 𝒫ᵀΠ𝒫 (nu × nu) and c = 𝒫ᵀΠy. G is formed once, in one pass over the samples
// (chunks of rows, n·nu² flops as tiled matrix products on every core); afterwards nothing has a dimension n except the
// certificate's products and the cone rows. Families are stored as the aggregated
// operators 𝒫_p (n × P·H floats) when that fits AggMax, else applied as operators on A
// (FC: D_p X).
//
// # Method ipm (working set + pattern-space interior point)
//
// A working set W of blocks (cold start: every block whose cheap bound ‖𝒫_pᵀλ‖/β
// exceeds 1, or all of them when that is at least half) and per block a working set of
// cone rows (the 16H rows nearest their facets at the pattern's gate) define a
// restricted second-order-cone program in pattern space, solved by a primal–dual
// interior-point method (Nesterov–Todd scaling, Mehrotra predictor–corrector, a
// least-squares start as in CVXOPT's coneqp). Each Newton system is one nu_W × nu_W
// Cholesky of G_W + ⊕_p P_p, the block epigraph variables and the rows eliminated in
// closed form per block; nu_W ≤ MaxGram (default 8000, 16·nu² bytes). Its stopping
// rule: relative gap ≤ Tol/10 with residuals ≤ 1e-8, or InnerTol (1e-10).
//
// Row generation happens inside the solve: at the first iterates with relative gap
// ≤ 1e-1, 1e-2 and 1e-3 every cone row of the nonzero blocks is checked (one product
// per block over all its rows); violated rows (up to 16H per block, most violated
// first) join their blocks and the IPM continues from its iterate (the new rows start
// at s = max(mᵀx, √μ), u = μ/s; the infeasible-start method removes their residual)
// instead of being solved again from the start after convergence. On Fashion-MNIST
// this took the IPM from 193 to 51 iterations at n = 1000 and from 239 to 77 at
// n = 10 000. After convergence the rows are checked once more; if some are still
// violated the point is repaired: the violating blocks are projected onto their full
// cones (NNLS on the rows, verified against every row), and when that loses too much
// the blocks of the violating patterns are re-optimised with every other block held
// (a restricted program on those patterns alone, with its own row generation); the
// better point is certified. Only when neither is optimal is the restricted program
// solved again on its support. Every returned point has each block that violates a
// row (the IPM meets its working rows to an absolute accuracy, a large relative
// violation on a tiny block) projected onto its cone. A round ends with the full
// certificate: blocks outside W whose ρ_b exceeds 1 join W, zero blocks leave it.
//
// Iterative refinement of the Newton steps. The certificate's λ is the primal
// residual Π(y − ŷ(x)), so ρ − 1 grows like ‖𝒫‖·‖ŷ − ŷ*‖/β: the IPM's dual residual
// must keep falling to the end. Without refinement it grew again in the last
// iterations (on the 400-sample CNN test program: 1.8e-11 → 1.2e-9 relative to
// max(β, ‖c‖∞) between gaps 3e-4 and 1.5e-8), although the reduced Newton systems
// were solved to 1e-13: the multipliers Δu are recovered through the NT scalings
// (condition number past 1e17), and the step's own dual defect
// e = r_d + PΔz + GᵀΔu exceeded the residual it was meant to remove. Each step now
// computes e (one Gram product and one product with the working rows), and when
// ‖e‖∞ > 10⁻²‖r_d‖∞ solves once more, with the same factor, for a correction with
// (r_d, r_p, r_c) = (e, 0, 0). Refining every step instead cost 16% more time at
// n = 10 000 (solver 151.5 s against 130.4 s, the same 77 iterations); with the
// trigger it is 132.0 s. Measured: that test program at Tol 1e-6 went from
// inaccurate (gap 1.7e-6 after 161 iterations and 4 rounds, 3.5 s) to optimal (gap
// 1.3e-7, 35 iterations, one round, about 1 s; TestRefinedSteps);
// examples/fashion_gap.cnn with `limit 1000` at tol=1e-6 from inaccurate (gap
// 1.27e-6, 138 iterations, 2 min 57 s) to optimal (gap 3.6e-7, 54 iterations, 1 min
// 20 s, 116 CPU-s, 0.95 GiB). The structured benchmark's IPM
// (BenchmarkStructured200/ipm) is unchanged: 44 iterations, 2.5–2.7 s per solve,
// with and without it.
//
// # Method al (augmented Lagrangian + accelerated proximal gradient)
//
// The cone constraints are moved into an augmented Lagrangian with multipliers Γ and
// penalty δ; each outer step minimises φ(x) + βΣ‖x_k‖ by FISTA with backtracking and
// restarts (the proximal map of the group norm is block soft-thresholding), then
// updates Γ ← (Γ − δMx)₊ and adds violated full rows. An iteration costs two products
// with G (nu² flops), none with the data. It is the method of scnn's augmented
// Lagrangian (Mishkin et al. 2022) in pattern space.
//
// # Certificate
//
// Every certified point is a dual point λ = Π(y − ŷ) of some x (feasible or not): for
// each block ρ_b is an upper bound on max_{u ∈ B₂ ∩ 𝒦_b} s_b λᵀ𝒫_b u / β, from the
// cheap bound ‖𝒫_bᵀλ‖/β, a projection onto the block's cone (active set on its rows,
// checked against every row; the bound holds for the rows it used), or
// ‖s_b𝒫_bᵀλ + M_bᵀμ_b‖/β with the IPM's or the AL's multipliers μ_b ≥ 0 on any subset
// of rows. With ρ = max_b ρ_b inflated by a relative 1e-12, θλ with θ ≤ 1/ρ is dual
// feasible and certify.SafeBound evaluates the bound so that it holds in floating
// point (rounding margin of D(θλ), and with an output bias the residual of 1ᵀλ = 0).
// Dual is the best bound over every certified point, DualPoint its λ; the returned
// point is the feasible point (every cone row of every nonzero block satisfied to
// TolFeas relative) with the smallest objective.
//
// # Status and stopping
//
// Optimal only when Objective − Dual ≤ Tol·max(1, |Objective|) with Dual certified as
// above and the point feasible to TolFeas·max(1, ‖y‖∞); otherwise inaccurate (no
// further progress), iteration_limit (MaxIter inner iterations or MaxRounds rounds),
// or time_limit / interrupted when Settings.Context ends: the Gram pass, the row work,
// the certificate's cone projections and every IPM and FISTA iteration poll it, and
// the solve returns its best certified point (before the operators exist: the warm
// start or the zero network with bound 0). A progress row is recorded at least every
// Progress (5 s): iteration, the best feasible objective, the certified relative gap
// (Objective − Dual)/max(1, |Objective|) and the elapsed time; during an IPM solve the
// iterate's λ is certified with cheap bounds for the row. Memory: the aggregated
// operators and the pattern-space matrices are checked against MaxMemory
// (lang/budget) before they are allocated.
//
// # Method choice (compiler/train.TemplateMethod)
//
// auto keeps the group solver (backend/native/group, Newton systems in sample space)
// for hinge and logistic loss (this package is squared-only), for block costs other
// than ‖·‖₂, for small programs (group's dense storage ≤ 64 MB, where pattern-space
// Newton systems can be singular on constant features) and when the samples do not
// outnumber the pattern coordinates and group's dense storage stays under 1 GB;
// otherwise ipm (the structured benchmark below: group 6× cheaper at n = 200).
// Within this package Settings.Method "" takes ipm when the pattern space fits
// MaxGram (or the warm start's support does), else al; train passes "al" only when
// asked (SolverSettings.Method): in the tests it needed 20 000 FISTA iterations
// without certifying 1e-5 where ipm certifies 1e-7 in about 40 IPM iterations, and
// on Fashion-MNIST n = 1000 it had no certified point after 2400 iterations.
//
// # Measured
//
// On the 2-core development machine, otherwise idle but for one background job at
// nice 19; CPU seconds are user + system.
//
// Structured benchmark (BenchmarkStructured200: n = 200, d = 10, 100 patterns,
// β = 1e-3, ±1 labels, certified gap ≤ 1e-6), per solve, and the cost of an
// iteration against the two dense products it is built on (A·Vᵀ and Zᵀ·A, 567 µs):
//
//	solver  CPU s/solve  wall s  iterations  CPU ms/iter  iter / (A·Vᵀ + Zᵀ·A)
//	group   0.67         0.58    42          16.0         28
//	ipm     3.48         2.88    44          79.2         140
//	al      37.0         37.1    20 000      1.85         3.3   (not certified: gap 0.49)
//
// (the earlier session's figures, load 5–7: group 0.86 CPU-s, ipm 4.2 CPU-s.)
//
// Fashion-MNIST T-shirt vs ankle boot, conv 4×4 stride 4 · relu · avgpool global,
// 200 sampled patterns (nu = 3200, 400 blocks), β = 1e-3, tol 1e-4
// (examples/fashion_scale.cnn with `limit` N, `cnnc solve`, /usr/bin/time -v; the
// machine otherwise idle but for one niced background job): the whole command —
// data, patterns, solve, both certificates, recovery, outputs. Relative gap: the
// report's (Objective − bound)/|Objective| with the bound recomputed by the pipeline
// from the solver's dual point; test accuracy on the first 1000 held-out images of the
// two classes.
//
//	n       status   wall     CPU s  IPM iters  rel. gap  peak RSS   neurons  test acc.
//	1000    optimal  1:12.8   105    51         6.6e-6    1.01 GiB   285      0.977
//	2000    optimal  1:35.5   137    70         4.2e-6    1.07 GiB   250      0.984
//	5000    optimal  1:54.0   165    67         5.6e-6    1.42 GiB   207      0.987
//	10 000  optimal  2:53.4   247    77         1.0e-5    1.91 GiB   226      0.981
//	  (re-run after this stop's changes: 2:42.4, 238 CPU-s, 77, 1.0e-5, 1.69 GiB, 226, 0.981)
//	2000 max optimal 2:26.8   210    80         3.0e-6    1.98 GiB   400      0.930
//
// (the last row: `maxpool global` in place of `avgpool global`, 200 max-patterns.)
// Before the row generation inside the IPM, the tiled Gram pass and the
// certificate's working-set cone maximisation, the same runs took 193 and 239 IPM
// iterations and 347 and 753 CPU-s at n = 1000 and 10 000. Time grows less than
// linearly in n: per IPM iteration the nu × nu Cholesky (about 1.4 CPU-s at nu = 3200,
// independent of n) dominates; the parts linear in n are the Gram pass (n·nu² flops,
// 14 s at n = 10 000), the row checks and the two certificates (about 20 CPU-s each at
// n = 10 000, 490 000 cone rows per pattern).
//
// Stops at n = 10 000 (the whole command, wall time from the signal to the process's
// exit with report.json and weights.json written). Every IPM iterate's λ is certified
// with the IPM's cone multipliers (a product with the aggregated operators per
// iterate) and the best such bound is kept. The solve polls the stop between the
// panels of the nu × nu Cholesky (cholBig: same factor as LAPACK's, bit for bit), in
// the row checks and in the feasible point's projection, so it returns 8–36 ms after
// the signal (before: it finished the Newton iteration in flight, 0.9–1.7 s). The
// pipeline then recomputes the bound from the dual point and the multipliers
// (certify.CertifyDualMult) instead of maximising over the 9.8·10⁷ cone rows, and
// evaluates the recovered network beside it. Ctrl-C at 75, 90 and 105 s: files 1.49,
// 1.38 and 1.40 s after the signal, certified bounds 739.63, 756.14 and 756.6
// against the optimum 756.70, networks 880.07, 761.51 and 757.3 (the best feasible
// point so far). What remains is three forward-sized products over the 490 000
// patches, each about half a second on this machine's two cores: the convex
// prediction (objective), the gradients of the certificate, and the network's own
// forward pass from its weights. `--time-limit 60s`: status time_limit, whole command
// 63.1 s, bound 562.57, the zero network (the limit fell before the first row
// check). Earlier releases took 12–26 s after the signal (the cone maximisations of
// the certificate and a scalar forward pass over the 10 000 images), with the bound
// from the progress ticks only (285–563 between runs for the same stop).
package large
