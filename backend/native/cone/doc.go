// Package cone is cnnc's native conic solver: a primal–dual interior-point method for
// programs over zero, nonnegative and second-order cones, and a first-order method for
// every cone. It owns the iteration that takes a conic.Problem (docs/exports.md; §1.5, docs/math/01-machinery.md)
//
//	minimize    cᵀx + ½ xᵀPx
//	subject to  A x + s = b,   s ∈ K,
//	K = {0}^z × R₊^l × Box × SOC(q₁)×… × PSD(s₁)×… × K_exp^ep × (K_exp*)^ed × K_pow(p₁)×…
//
// to a Result (x, y, s, status, residuals, certificates). It sits at the end of the
// pipeline: compiler → conic form → backend/native/cone.Solve → solution → recovery.
// The `cnnc solve-file` verb drives it directly on SCS data files and JSON exports.
//
// # Choice of method (Settings.Method)
//
// "auto" (default) runs the interior-point method when every cone is zero,
// nonnegative or second-order and one factorisation of its KKT system is affordable
// (estimated from the structure: ≤ 2e10 flops and 5e7 floats), else the first-order
// method; "ipm" and "admm" force one. Result.Method says which ran.
//
// # Interior-point method (ipm.go, ipm_nt.go, ipm_kkt.go)
//
// The homogeneous self-dual embedding with a quadratic objective (as in Clarabel:
// Goulart & Chen 2024; ECOS: Domahidi, Chu & Boyd 2013 for the linear case), with
// Nesterov–Todd scaling and Mehrotra's predictor–corrector (Vandenberghe, "The CVXOPT
// linear and quadratic cone program solvers", 2010). On the equilibrated data (Ruiz,
// as below) the iterate (x, y, s, τ, κ), s ∈ int K, y ∈ int K*, τ, κ > 0 has residuals
//
//	r_x = Px + Aᵀy + cτ,  r_z = Ax + s − bτ,  r_τ = κ + cᵀx + bᵀy + xᵀPx/τ,
//
// all zero at a solution of the embedding (τ > 0: optimum (x, y, s)/τ; κ > 0:
// certificate). Each iteration linearises them, with complementarity
// λ∘(W⁻¹Δs + WΔy) = −d_s (λ = Wy = W⁻¹s, ipm_nt.go) and τΔκ + κΔτ = −d_κ:
//
//	[P  Aᵀ][Δx]   [ c]        [−η r_x            ]
//	[A −H ][Δy] + [−b] Δτ  =  [−η r_z + W(λ\d_s)]      (H = W²; 0 on zero rows)
//	(c + 2Pξ)ᵀΔx + bᵀΔy − (ξᵀPξ + κ/τ)Δτ = −η r_τ + d_κ/τ,   ξ = x/τ,
//
// solved as [Δx; Δy] = v₂ + Δτ v₁ with K v₁ = (−c, b) and K v₂ = right-hand side, so
// each iteration factors K once (ipm_kkt.go: block elimination with the dense loss
// rows in a Schur complement, static + dynamic regularisation, iterative refinement)
// and solves with it three times. Predictor: η = 1, d_s = λ∘λ, d_κ = τκ, step α_a to
// the boundary; σ = (1 − α_a)³; corrector: η = 1 − σ, d_s = λ∘λ + (W⁻¹Δs_a)∘(WΔy_a)
// − σμe, d_κ = τκ + Δτ_aΔκ_a − σμ, μ = (sᵀy + τκ)/(ν + 1) (ν = orthant rows + SOCs);
// step 0.99 of the way to the boundary (at most 1). Start (Clarabel): K with H = I
// solved for (−c, b), s = −y, both shifted into the interior; τ = κ = 1.
//
// Stopping rule: the three residual tests of "Stopping rule" below on (x, y, s)/τ
// (the same ε_abs, ε_rel) → Optimal; the infeasibility and unboundedness tests below
// with τ < κ → Infeasible / Unbounded. s and y stay strictly inside their cones.
// After IPMMaxIters (default 100, and at most MaxIters) iterations, or when the step
// falls below 1e-8 or a factorisation fails, the status is Inaccurate when every
// residual is within InaccurateFactor of its tolerance, else IterationLimit.
//
// # First-order method
//
// Operator splitting on the homogeneous self-dual embedding, as in SCS 3
// (O'Donoghue, Chu, Parikh & Boyd, "Conic optimization via operator splitting and
// homogeneous self-dual embedding", JOTA 2016; O'Donoghue, "Operator splitting for a
// homogeneous embedding of the linear complementarity problem", SIOPT 2021). With
// u = (x, y, τ), v = (0, s, κ), C = Rⁿ × K* × R₊ and
//
//	Q(u) = ( Px + Aᵀy + cτ,  −Ax + bτ,  −cᵀx − bᵀy − xᵀPx/τ ),
//
// a solution is u ∈ C, v = Q(u) ∈ C*, uᵀv = 0; τ > 0 gives the optimum (x/τ, y/τ, s/τ),
// κ > 0 a certificate of infeasibility or unboundedness. Douglas–Rachford splitting
// of Q + N_C in the metric R = diag(ρ_x I, R_y, r_τ) iterates on w ∈ R^{n+m+1}:
//
//	ũ ← (R + Q)⁻¹ R w                 (linear system + a scalar quadratic in τ)
//	u ← Π_C(2ũ − w)                    (cone projections, Euclidean per block)
//	w ← w + α(u − ũ)                   (relaxation α, default 1.5)
//	v = R(w_old + u − 2ũ)              (recovers s and κ, by Moreau)
//
// The linear step: for fixed τ, (x, y) = p − τq with
// M = [[ρ_x I + P, Aᵀ], [−A, R_y]], p = M⁻¹(ρ_x w_x, R_y w_y), q = M⁻¹(c, b).
// Eliminating y = R_y⁻¹(r_y + Ax) leaves the n×n symmetric positive definite system
//
//	(ρ_x I + P + Aᵀ R_y⁻¹ A) x = r_x − Aᵀ R_y⁻¹ r_y,
//
// factored once by dense Cholesky (gonum) and cached; the factorisation is redone only
// when the adaptive scale changes R_y. Substituting (x, y) = p − τq into the third
// row multiplied by τ gives aτ² + βτ + γ = 0 with
// a = r_τ + q_xᵀρ_x q_x + q_yᵀR_y q_y > 0, β = 2p_xᵀPq_x − cᵀp_x − bᵀp_y − r_τ w_τ,
// γ = −p_xᵀPp_x ≤ 0, whose unique nonnegative root is τ (SCS's "root_plus").
// R_y = 1/scale on cone rows and 1/(1000·scale) on zero-cone rows, r_τ = 10, as SCS.
//
// When K is block diagonal plus a few dense rows (the two-layer ReLU programs: the
// cone and NORM rows touch one pattern's block, only the N loss rows touch many
// columns) the system is solved by block elimination instead (blocksys.go:
// Woodbury / Schur complement on the dense rows, checked for accuracy after each
// factorisation, dense fallback); Settings.LinearSystem forces either path.
//
// Cone projections (Π onto K* for y): zero cone free; orthant clip; SOC closed form;
// PSD by eigendecomposition of smat (gonum mat.EigenSym) clipping negative eigenvalues;
// exponential cone by the univariate root of Friberg (2021) (see expcone.go);
// power cone by Hien's (2015) univariate root (powcone.go); box cone by a scalar
// convex minimisation over t (box.go). Dual cones go through Moreau's identity
// Π_{K*}(v) = v + Π_K(−v).
//
// Data are equilibrated (Ruiz, see scale.go) and the reported x, y, s are in the
// caller's units. Anderson acceleration (type II, safeguarded, see aa.go) is applied
// to w. The scale is adapted as in SCS 3 (geometric mean of the ratio of relative
// primal and dual residuals, at most every AdaptiveInterval iterations).
//
// # Stopping rule
//
// Evaluated every iteration on the unscaled iterate x = x̂/τ, y = ŷ/τ, s = ŝ/τ:
//
//	‖Ax + s − b‖∞       ≤ ε_abs + ε_rel·max(‖Ax‖∞, ‖s‖∞, ‖b‖∞)            (primal)
//	‖Px + Aᵀy + c‖∞     ≤ ε_abs + ε_rel·max(‖Px‖∞, ‖Aᵀy‖∞, ‖c‖∞)          (dual)
//	|xᵀPx + cᵀx + bᵀy|  ≤ ε_abs + ε_rel·max(|xᵀPx|, |cᵀx|, |bᵀy|)          (gap)
//
// All three → Optimal (y ∈ K* holds exactly by projection; s ∈ K up to rounding by
// Moreau). Infeasible when the unnormalised y has bᵀy < 0 and
// ‖Aᵀy‖∞ / (−bᵀy) ≤ ε_infeas (the certificate is scaled to bᵀy = −1); Unbounded when
// cᵀx < 0 and ‖Ax + s‖∞/(−cᵀx) ≤ ε_infeas and ‖Px‖∞/(−cᵀx) ≤ ε_infeas (scaled to
// cᵀx = −1). At MaxIters or TimeLimit the status is Inaccurate when every residual is
// within InaccurateFactor (default 10) times its tolerance, otherwise IterationLimit
// or TimeLimit. The returned point is always the last iterate.
//
// # Measurements on the two-layer ReLU program (§2, docs/math/02-fc-relu.md)
//
// Iteration counts (deterministic) at ε = 1e-6 on compiler/train's benchReLU data,
// n = 60 samples, d = 5 + ones, 40 sampled patterns, β = 1e-3 (≈ 600 columns,
// 5300 rows): LSQ cone without Anderson 48 968 iterations; LSQ with Anderson(10)
// not converged at 50 000 (Inaccurate); LSQ′ without Anderson 15 998; LSQ′ with
// Anderson(10) 8 662 (8 412 with the block system); LSQ′ with Anderson(5) 17 539;
// LSQ′ at fixed scale 0.01 / 1 / 10 not converged at 15 000; LSQ′ without Ruiz 9 486.
// In every LSQ′ run the binding residual is the primal one on the NN (cone) rows;
// dual residual and gap are 100× below tolerance. compiler/train therefore uses LSQ′
// (canon.Options.QuadraticLoss) for the conic path; the exports keep LSQ.
//
// On the benchmark size (n = 200, d = 10 + ones, 100 patterns; LSQ′: 2600 columns,
// 42 600 rows, 664 008 nonzeros) the block system takes setup from 2.1 s (dense
// Cholesky of the LSQ form) to 0.5 s and the reduced solve from 2n² = 13.5 Mflop to
// about 0.6 Mflop; an iteration is then dominated by the four sparse products with Â
// and Anderson. The iteration count is still the problem: after 18 000 iterations the
// NN-row primal residual was 1.1e-4 against a tolerance of about 2e-5 (dual residual
// 3e-8, gap 1.5e-8); under the shared machine's load that was 27 ms per iteration of
// wall time. Reaching 1e-6 there takes more than 20 000 iterations: minutes, against
// the structured solver's seconds. This is why "auto" runs the interior-point method
// on these programs.
//
// Interior-point method on the same benchmark program (compiler/train
// BenchmarkConicReLU200, 2 shared cores). At ε = 1e-6 it stops Optimal in 42
// iterations (3.1–5.9 s) but with the objective 1e-4 relative above the optimum: the
// residual tests do not bound the objective that tightly. At ε = 1e-8 (what
// compiler/train passes for tol 1e-6): Optimal in 50 iterations, 4.2 s including
// 0.2 s setup, objective 0.1302097927, dual 0.1302097870; at ε = 1e-10, 53
// iterations, 0.1302097096 (the LSQ form at 1e-9: 0.1302097893, 49 iterations). The
// structured solver on the same program: 1.5 s, Optimal at its tol 1e-6, objective
// 0.1302101465 (dual bound 0.1302091627), 2.7e-6 relative above the IPM. Time goes
// to the sparse products of iterative refinement (≈ 40 %) and the block
// factorisation (≈ 20 %). On examples/quickstart.cnn (n = 40, 1561 exact patterns,
// 9366 columns, 124 880 rows, ε = 1e-8): Optimal in 40 iterations, 6–7 s, objective
// 0.1056461532 with dual 0.1056461892 (the structured solver stops Inaccurate at
// 0.1056469564 with dual bound 0.1056460077).
//
// The solver is deterministic: no randomness, no goroutines.
package cone
