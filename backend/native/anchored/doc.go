// Package anchored is cnnc's structured interior-point method for the anchored
// relaxation of fixed-output-weight CNNs (§11, docs/math/11-fixed-output.md;
// convex.Anchored): an LP, or an SOCP with one second-order cone when the noise
// budget ε > 0, with one patch per row.
//
// Input: a *convex.Anchored and the targets y. Output: a Result (the filter w and the
// lifted t, s, a status of backend/solver, primal and dual objectives, residuals).
// It sits beside backend/native/cone: compiler/train calls it for `solver native`
// (the default); `solver conic` sends the same program through compiler/canon to the
// general conic solver instead.
//
// # The program (the rows of compiler/canon's ANCHORED rewrite)
//
//	minimize cᵀx  s.t.  Gx + z = h,  z ∈ R₊^{2NK+N} (× SOC(N+1) when ε > 0)
//	x = (w ∈ Rᴴ, t ∈ R^{NK}, s ∈ Rᴺ),  c = (−a, 0, 0)
//	rows r = k·N + i:   −t_r ≤ 0,   x_rᵀw − t_r ≤ 0
//	rows i:             Σ_k c_k t_{kN+i} − s_i ≤ y_i
//	cone:               (ε, s) ∈ SOC
//
// # Method
//
// The homogeneous self-dual embedding with Nesterov–Todd scaling and Mehrotra's
// predictor–corrector, as in backend/native/cone's interior-point method (Vandenberghe,
// "The CVXOPT linear and quadratic cone program solvers", 2010; the embedding as in
// ECOS and Clarabel): each iteration factors the KKT matrix [0 Gᵀ; G −Ĥ] (Ĥ = W²) once
// and solves with it three times (the constant right-hand side (−c, h) for the τ
// direction, the predictor and the corrector); start from Ĥ = I, shifted into the
// interior; step 0.99 of the way to the boundary.
//
// # Structure: the KKT solve
//
// With Ĥ⁻¹ = diag(d1) on the rows t ≥ 0, diag(d2) on t ≥ Xw, diag(d3) on the sample
// rows and the SOC block η⁻²(2Jw̄w̄ᵀJ − J), the reduced matrix M = GᵀĤ⁻¹G has
//
//	w block     Xᵀ diag(d2) X
//	t block     diag(d1 + d2) + per sample i: d3_i c cᵀ      (K×K: diagonal + rank one)
//	s block     diag(d3) + η⁻²(I + 2w̄₁w̄₁ᵀ)                    (diagonal + rank one)
//	couplings   w–t: −d2_r x_r;  t–s: −d3_i c_k
//
// (the SOC term is exact: G's SOC rows are (0, −I) on s, so they pick the tail block
// of Ĥ⁻¹, η⁻²(I + 2w̄₁w̄₁ᵀ), with no cancellation). Let λ_r = d1_r + d2_r, p_r = c_k/λ_r,
// φ_i = Σ_k c_k p_{kN+i}, σ_i = d3_i/(1 + d3_i φ_i), g_i = Σ_k d2_r p_r x_r (r = kN+i).
// Eliminating t sample by sample (Sherman–Morrison on each K×K block: T_i⁻¹v = Λ⁻¹v −
// σ_i (pᵀv) p) and then s (Sherman–Morrison on diag(σ + η⁻²) + 2η⁻²w̄₁w̄₁ᵀ) leaves the
// H×H Schur complement on w,
//
//	S = Xᵀ diag(d1 d2/(d1 + d2)) X + Γᵀ diag(σ η⁻²/(σ + η⁻²)) Γ + ζ′ q qᵀ
//	    (Γ the N×H matrix of rows g_i; q = Γᵀ(σ∘w̄₁/e), e = σ + η⁻², ζ′ = 2η⁻²/(1 + 2η⁻² w̄₁ᵀE⁻¹w̄₁);
//	    without the cone: S = Xᵀ diag(d1 d2/(d1 + d2)) X + Γᵀ diag(σ) Γ),
//
// a sum of positive semidefinite terms formed with two BLAS rank-k updates, factored
// by dense Cholesky (static regularisation 1e-13·max diag). Back substitution gives
// Δw, then Δs, then Δt per sample, then Δy = Ĥ⁻¹(GΔx − b_y). Each solve is refined
// against the full KKT system (residual (b_x − GᵀΔy, b_y − GΔx + ĤΔy), up to four
// steps, until it is below 1e-14·(1 + ‖b‖∞) or stops halving): refining only the
// reduced system M lost the SOCP's last digits (measured: stalled at residuals 4e-7
// on an instance that the full refinement solves to 4e-12 in 19 iterations).
//
// Cost per iteration: O(N K H²) for XᵀDX (one Syrk), O(N H²) for ΓᵀDΓ, H³/3 for the
// Cholesky, and O(N K H) per solve — linear in the number of samples and positions.
// backend/native/cone's block elimination cannot see this structure: every t column
// shares rows with every w column, so its column blocks merge into one dense block of
// H + NK columns.
//
// # Stopping rule
//
// On the unscaled iterate x = x̂/τ, y = ŷ/τ, z = ẑ/τ, with ε = Settings.Tol (default
// 1e-9; compiler/train passes min(tol, 1e-6)·1e-3):
//
//	‖Gx + z − h‖∞     ≤ ε + ε·max(‖Gx‖∞, ‖z‖∞, ‖h‖∞)      (primal)
//	‖Gᵀy + c‖∞        ≤ ε + ε·max(‖Gᵀy‖∞, ‖c‖∞)           (dual)
//	|cᵀx + hᵀy|       ≤ ε + ε·max(|cᵀx|, |hᵀy|)           (gap)
//
// → Optimal. With τ < κ: Unbounded when cᵀx̂ < 0 and ‖Gx̂ + ẑ‖∞/(−cᵀx̂) ≤ EpsInfeas (a
// direction d with Xd ≤ 0 and aᵀd > 0: too few samples; rare with the least-squares
// anchor, which lies in the row space of X, so that directions with Xd = 0 never
// count), Infeasible when hᵀŷ < 0 and
// ‖Gᵀŷ‖∞/(−hᵀŷ) ≤ EpsInfeas (targets the noise budget cannot absorb; compiler/derive
// refuses those before solving). At MaxIters (default 100), a step below 1e-10, a
// failed factorisation, or solver.Stop(Context) (checked every iteration, a few
// milliseconds to a second apart), the best iterate seen (smallest max of residual /
// tolerance) is returned with status Inaccurate when every residual is within
// InaccurateFactor (100) of its tolerance, else IterationLimit, TimeLimit or
// Interrupted. Certificates (Infeasible, Unbounded) are returned unnormalised.
//
// # Polish
//
// Polish (polish.go) refines a filter that fits every target to 1e-4 by one exact
// least-squares solve on its active ReLU pieces, kept only when every patch stays on
// its side and the largest residual decreases. compiler/train applies it to LP
// solutions before the zero-loss certificate: an interior-point method stops within
// its tolerance of the optimal face, and when that face is a zero-loss filter the
// polish recovers it to rounding error (‖ŵ − w*‖ ≈ 1e-15 instead of 1e-9…1e-6).
//
// # Measured
//
// Agreement: on 10 instances (LPs and SOCPs, disjoint and overlapping patches, 1-D
// and 2-D; compiler/planted TestAgainstCVXOPT) the optimum equals CVXOPT's on the
// exported conic program to at most 1.5e-9 (CVXOPT at 1e-8; at its default 1e-10 it
// stalls on most of these degenerate LPs with status "unknown"); the KKT solve equals
// a dense solve to 1e-10 (TestKKTAgainstDense).
//
// Time (shared 2-core machine at load average ≈ 30, so wall times are inflated
// about 5×; CPU times are the better guide; re-measure on a quiet machine):
//
//   - BenchmarkAnchored2000 (N = 2000, H = 25, K = 16: 32 025 variables, 66 000 rows,
//     the LP): 18 iterations, 3.1 s wall, about 0.6 s of CPU per solve (1.82 s user
//     for three solves and the instance); ‖ŵ − w*‖ < 1e-7 before the polish.
//   - BenchmarkAnchoredSOCP2000 (the same with σ = 0.01, ε = σ√n): 36 iterations,
//     9.2 s wall, about 0.7 s of CPU per solve.
//   - BenchmarkStructuredVsConic (N = 50, H = 25, K = 16: 825 variables, 1 650 rows):
//     structured 26 iterations, 0.13 s wall; the general conic IPM 24 iterations,
//     10.5 s wall (1.85 s user for both): its KKT block is dense in all 825 columns, an
//     O((H + NK)³) factorisation per iteration, against O(NKH²) here. At N = 200 it had
//     not converged after 98 s of CPU (10 minutes of wall time); at N = 2000 one
//     factorisation would be about 10¹³ flops.
package anchored
