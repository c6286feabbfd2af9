// Package vecout owns the native solvers of vector-output programs
// (convex.VectorProgram: multiclass two-layer ReLU or gated networks, plain or with
// global average pooling; docs/math/10-vector-output.md). Their exact convex program
// is copositive, so every solver here returns a bracket: an upper bound (the
// objective of a network it found) and a certified lower bound over a stated scope.
//
// Pipeline position: compiler/derive (vector rules) ──convex.VectorProgram──▶ this
// package ──Result (atoms, bracket)──▶ compiler/train (recovery, evaluation from
// weights.json, report).
//
// # Pieces
//
//   - Oracles (oracle.go) evaluate the dual constraint sup_{‖u‖≤1} ‖Vᵀφ(u)‖ at a dual V:
//     ExactOracle solves the cone-constrained PCA exactly by enumerating every face of
//     the data's hyperplane arrangement (pattern.Faces) and taking top singular vectors
//     of Vᵀ F_D restricted to each face's span; PatternOracle uses σ₁(Vᵀ F_p) over a
//     finite pattern set (relaxation (a)'s constraint; exact for gated units).
//   - Certificates (bound.go): Repair makes ∇F(Ŷ) compatible with an output bias,
//     Bound scales it into the dual feasible set and maximises the concave dual along
//     the ray (squared loss in closed form, cross-entropy by golden-section search),
//     lowered by a rounding margin; Certify does both at a prediction.
//   - ColumnGeneration (cg.go): the exact path — fully corrective Frank–Wolfe in unit
//     space, a group-lasso master over output weights (FISTA, then Newton on the active
//     set: newton.go) and pricing by the exact oracle; stops when
//     upper − lower ≤ Tol·|upper|.
//   - Relaxation (gated.go): relaxation (a) over the patterns by FISTA with the nuclear
//     prox (fista.go), started from a Burer–Monteiro factorisation solved by L-BFGS
//     (relaxbm.go) when the features have more than BMThreshold columns.
//   - Scalable (scalable.go): relaxation (a) over sampled patterns, a ReLU network
//     grown by Frank–Wolfe with heuristic pricing (Grow, grow.go; or the cone
//     decomposition ReLUFromGated with ScalableInit = "decompose"), Burer–Monteiro
//     refinement Polish (bm.go: L-BFGS on the network objective), and the certificates
//     over the sampled patterns plus the network's own (after a stop only the one at
//     the network's prediction); GlobalNormBound, an enumeration-free bound on the
//     global optimum.
//   - Prune (prune.go): Carathéodory pruning to at most N·C atoms without changing the
//     prediction or raising the objective.
//
// # Tolerances and stopping rules
//
// Every stopping rule is a certified relative gap (upper − lower)/|upper| ≤ Tol
// (default 1e-6), where lower is a dual bound computed in floating point from the
// iterate (never a solver's dual objective as is). ρ̄ carries a relative safety of
// 1e-8 (rhoSafety) for the rounding of the small SVDs; a face's singular vector counts
// as inside the face up to a relative violation of 1e-6 (memberTol), which can only
// raise ρ̄. Iteration limits: column generation 200 rounds, FISTA 20 000 iterations
// (1 000 after a Burer–Monteiro start), L-BFGS 3 000 (relaxation (a)) and 2 000
// (Polish) iterations, or Settings.MaxIters. Every solver polls Settings.Context
// (solver.Stop) and returns its best bracket with status time_limit or interrupted.
//
// # Measured
//
// Reference check (E) of the project's mathematics (n = 6, C = 2, β = 0.1): relaxation
// (a) 0.52363929, relaxation (b) 1.66237474 (both also by the conic solvers, CVXOPT
// included), exact path [1.662374579, 1.662374738] in 7 rounds; best local search of
// the reference 1.66309161. Ten seeded problems (n ≤ 8, C = 2–3): every bracket closes
// below 1e-6 relative (2–28 rounds, 13 s for all ten at load ~20); the best of 20
// random-start L-BFGS runs is never below the lower bound and ends 0.1 %–11 % above
// the upper bound (TestSeededExactPath with CNNC_LONG=1). The exact oracle never
// falls below 20 000 random starts followed by projected ascent, and its best unit
// attains ρ̄ to 1e-7 (TestExactOracleAgainstSampling).
//
// Fashion-MNIST, 10 classes, n = 1000, CNN with global average pooling, 100 sampled
// patterns (examples/fashion_multiclass.cnn, no time limit, sharing the machine at
// nice 19): status iteration_limit, bracket [26.749, 125.732] over the sampled and the
// network's patterns (relative gap 0.79), 513 units, train accuracy 0.997, test 0.730,
// 45 min CPU (73 min wall), 1.47 GB peak. PyTorch Adam at the same width (best of 5
// seeds, 100 epochs): objective 254.8, accuracy 0.771 / 0.653
// (docs/math/10-vector-output.md §11).
package vecout
