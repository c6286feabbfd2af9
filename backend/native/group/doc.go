// Package group is the structured native solver for the group-ℓ2 template of §12
// (docs/math/12-template.md) with polyhedral cone constraints: two-layer ReLU (§2),
// gated ReLU (§3), CNNs with average, windowed and max pooling (§4–§6) and every other
// program made only of convex.Family blocks with cost ‖·‖₂, with squared, hinge or
// logistic loss (method ws; "ipm" and "al" are squared-only); and, with squared loss
// and method ws, blocks with the cost Σ_j w_j‖T_j x‖₂ (CostMaps: §8's Fourier ℓ1,
// §9b's group regulariser; "Block costs Σ_j w_j‖T_j x‖" below).
//
// Input: a *convex.Program whose Families describe the blocks (backend/convex
// package doc); optional warm start. Output: a Result with the solution in the
// program's own terms (convex.Solution), a certified duality gap, the dual point that
// certifies it (Result.DualPoint, DualRho) and statistics. It sits after
// compiler/derive and before recovery (compiler/network); programs with generic
// Vars/Terms/Penalties/Constraints, and CostMaps programs with hinge or logistic loss,
// go to the conic solver and are refused here with an error.
//
// # Block costs Σ_j w_j‖T_j x‖ (CostMaps; maps.go)
//
// A family with Cost.Kind = CostMaps has R(x) = Σ_j w_j‖T_j x‖₂ (stacked maps
// T̃ = [w_jT_j]_j of full column rank, so R is a norm with R ≥ c‖·‖₂, c = σ_min(T̃)).
// Only method ws takes it, with squared loss. What changes:
//
//   - Restricted solve (mapsRestricted): one second-order cone per map instead of one
//     per block, minimise τ + βΣ_kΣ_j w_j t_kj s.t. ‖(2(Ĵx − ỹ), 2τ − 1)‖ ≤ 2τ + 1,
//     M_k x_k ≥ 0, (t_kj, T_j x_k) ∈ SOC, solved by backend/native/cone's
//     interior-point method (method ipm; ε = 100·InnerTol, so 1e-8 by default; a stall
//     far from ε is retried once at 100ε) on the working set W only. This is a conic
//     IPM on a sparse KKT system, not pdipm's block-structured Newton system: it
//     costs about what the conic path costs on the same blocks (Measured), and it
//     gains over the conic path only where W is smaller than the program. Its point
//     violates the cone rows by about ε; each block of W gets the least-norm
//     correction that puts its violated rows at +1e-14‖x‖ (restoreMaps), so the
//     returned point is feasible and its objective an upper bound.
//   - Certificate: ρ_b = max{s_b λᵀ𝒫_b u : u ∈ 𝒦_b, R(u) ≤ 1}/β replaces the
//     ℓ2-ball maximum. rhoAll uses three upper bounds, each valid in floating point
//     (costMaps.dualUp, dualUpWith): (i) R*(v) ≤ max_j‖y_j‖ + ‖e‖/c with
//     y = T̃(T̃ᵀT̃)⁻¹v, e = v − T̃ᵀy (tight when the maps partition an orthonormal basis,
//     as §8's half spectrum and §9b's per-unit slots do), applied to v = g_b and, for
//     blocks of W, to v = g_b + M_bᵀμ_b; (ii) for blocks of W, R*(v) ≤
//     max_j‖q_j‖/w_j + ‖e‖/c with the IPM's map multipliers q_j (e = v + Σ_jT_jᵀq_j: tight for any
//     maps at the restricted optimum); (iii) ConeMax(g_b)/c (R(u) ≤ 1 ⇒ ‖u‖ ≤ 1/c).
//     The dual point is the IPM's own λ = 2μ (μ the middle of the loss cone's
//     multiplier; centred with a bias), consistent with μ and q: λ = Π(y − ŷ) at its x
//     differs by about the square root of the IPM's complementarity gap and left
//     ρ − 1 ≈ 2e-5 on §9b's instance A1.
//   - So Status Optimal certifies, as for ‖·‖₂, that Objective − Dual ≤ Tol·max(1,
//     |Objective|) with Dual a floating-point-safe lower bound on the optimum of the
//     program as given (every block of every pattern it holds). It is not a bound on
//     the non-convex network over patterns the program does not hold, and
//     compiler/train does not print it as a certified bound (backend/certify has no
//     dual norm for CostMaps: §8.5 in docs/math/08-circular3.md, §9b.5 in
//     docs/math/09-three-layer.md); it reaches the report as solver_dual only.
//
// # Losses (method ws)
//
// Squared loss is the form below (bias eliminated by centring). Hinge and logistic
// loss (lossExt, loss.go) keep the output bias b₀ as a free variable: logistic
// minimises ℓ(Jx + b₀1) + βΣt_b by Newton steps on the loss's Hessian
// Jᵀdiag(ℓ″)J (a step changes no prediction by more than 4, where ℓ″ can change by
// e⁴); hinge is the LP Σe + βΣt_b with margin slacks e ≥ 0, e ≥ 1 − y∘(Jx + b₀1),
// whose multipliers u ∈ [0, 1] give the dual point λ = y∘u. Eliminating the slacks
// and the bias leaves the Newton matrix of the squared case with Ĵ replaced by
// Π_vH^{1/2}J (H the loss's curvature in ŷ: ℓ″, or d₁d₂/(d₁+d₂) for the two hinge
// rows); the Woodbury preconditioner works on the bordered system with
// S = H⁻¹ + JB̃⁻¹Jᵀ instead (linsys.setWeights), because h spans many orders of
// magnitude on the margin. The point's objective is evaluated with the best bias for
// its blocks (bestBias: Newton for logistic, the breakpoints for hinge), and the
// certificate (below) uses the restricted IPM's λ, clipped to the loss's domain and
// centred, with D(λ) = −ℓ*(−λ) in place of λᵀy − ½‖λ‖² (certify.SafeBound; the
// conjugates are in backend/certify).
//
// # Problem (§12, §2)
//
//	minimize   ½‖ŷ − y‖² + β Σ_b ‖x_b‖₂                 b = (f, s, p)
//	ŷ          = Σ_f Σ_s s · Σ_p 𝒫_{f,p} x_{f,s,p}  (+ b₀·1 if OutputBias)
//	subject to 𝒞_{f,p} x_{f,s,p} ≥ 0
//
// with (𝒫_{f,p}x)_i = Σ_{r:Sample[r]=i} Weight[r,p]·A_r x and (𝒞_{f,p}x)_r =
// Sign[r,p]·C_r x. The unpenalised bias is eliminated exactly: for fixed blocks
// the best b₀ is mean(y − ŷ), so the loss becomes ½‖Π(ŷ − y)‖² with Π = I − 11ᵀ/n.
//
// # Structure
//
// The blocks of family f are stored stacked as V (S·P × H). One iteration needs one
// forward product Z = A·Vᵀ (Np × S·P; Q = C·Vᵀ is the same matrix when C = A, as in
// FC and CNN programs), masks applied elementwise, and one backward product Mᵀ·A with
// M[r, sP+p] = s·Weight[r,p]·res_{Sample[r]} − Sign[r,p]·μ[r, sP+p]. No per-pattern
// matrices are formed. Extrapolated points reuse Z by linearity, so a FISTA step
// costs two products plus one forward product per backtracking step.
//
// # Dual and certificate (§1.3)
//
// Lagrangian with λ for the prediction equation and μ_b ≥ 0 for the cones:
//
//	L = ½‖ŷ − y‖² − λᵀ(Σ_b s𝒫_b x_b + b₀1 − ŷ) + βΣ_b‖x_b‖ − Σ_b μ_bᵀ𝒞_b x_b.
//
// Minimising over ŷ gives ŷ = y − λ and the value λᵀy − ½‖λ‖²; over x_b, the term
// β‖x_b‖ − (s𝒫_bᵀλ + 𝒞_bᵀμ_b)ᵀx_b is bounded below (by 0) iff ‖s𝒫_bᵀλ + 𝒞_bᵀμ_b‖₂ ≤ β;
// over b₀, iff 1ᵀλ = 0. The dual of the restricted program is therefore
//
//	maximize λᵀy − ½‖λ‖²  s.t.  ‖s𝒫_bᵀλ + 𝒞_bᵀμ_b‖₂ ≤ β (every b),  μ_b ≥ 0  (1ᵀλ = 0 with bias).
//
// From an AL iterate x take λ = y − ŷ(x) (centred by Π when there is a bias, so
// 1ᵀλ = 0 holds exactly) and μ = (Γ − δ·𝒞x)_+, the multiplier the next AL update
// would produce; then s𝒫_bᵀλ + 𝒞_bᵀμ_b = −∇_bφ(x), the gradient of the smooth AL
// part, which costs one backward product. The constraints are homogeneous in (λ, μ),
// so (θλ, θμ) is feasible for θ ≤ θ_max = min(1, β / max_b‖∇_bφ(x)‖); the reported
// Dual = max_{0≤θ≤θ_max} θλᵀy − ½θ²‖λ‖² is a certified lower bound on the restricted
// optimum.
//
// The AL iterate may violate the cones slightly, so its objective is not an upper
// bound. Feasibility restoration: when the family has Gates and the gate g_p of a
// violated block is strictly inside its cone (Sign∘C g_p > 0 on all rows), the block
// moves to x_b + t·g_b with the smallest t ≥ 0 making every row nonnegative
// (t = max_r (−𝒞x)_r / (𝒞g)_r, enlarged by a factor 1 + 1e-12). The returned Solution
// is this point and Objective its objective (with the re-optimised bias), a true
// upper bound; Result.Restored reports whether every violated block had a usable gate.
// Without gates the Objective is that of the AL iterate and optimality rests on the
// violation test alone (stated in Result.Restored = false).
//
// # Method ws (default): working set + primal–dual interior point
//
// Column generation over blocks (§1.3, docs/math/01-machinery.md, §12). At the optimum most
// blocks are zero. A zero block b is optimal iff its dual constraint holds at
// λ = Π(y − ŷ): there is μ_b ≥ 0 with ‖s𝒫_bᵀλ + 𝒞_bᵀμ_b‖ ≤ β, equivalently (Moreau,
// backend/certify.ConeMax)
//
//	ρ_b = max_{u ∈ B₂ ∩ 𝒦_b} s_b λᵀ𝒫_b u / β ≤ 1.
//
// All gradients g_b = s𝒫_bᵀλ come from one product Mᵀ·A per family (M[r,p] =
// Weight[r,p]·λ_{Sample[r]}). Two cheap upper bounds on ρ_b are tried first:
// ‖g_b‖/β (ConeMax ≤ ‖g‖), and, for a block of the last restricted solve with its
// cone multipliers μ_b ≥ 0 (the IPM's u_L), ‖g_b + M_bᵀμ_b‖/β: for u ∈ 𝒦_b,
// μ_bᵀM_b u ≥ 0, so gᵀu ≤ (g + M_bᵀμ_b)ᵀu ≤ ‖g + M_bᵀμ_b‖ on B₂ ∩ 𝒦_b; at the
// restricted optimum g_b + M_bᵀμ_b = −u₁ with ‖u₁‖ ≤ u₀ = β. ConeMax (Lawson–Hanson
// NNLS) runs only where both exceed 1, so the certificate is that of ConeMax on every
// block up to bounds below 1 (FC benchmark: 200 NNLS per round → 0–2). A failed NNLS
// (iteration cap) counts with the smaller bound.
//
// Loop: W₀ = the warm start's nonzero blocks + the violating blocks at λ(warm)
// (λ = Πy cold). Cold start: when at least half of all blocks violate, W₀ = every
// usable block (one restricted solve instead of several growing ones; decided without
// NNLS when the lower bound ρ_b ≥ s_b gᵀĝ_p/β at the unit gate ĝ_p already shows it).
// Warm start (adaptive rounds): violators join by decreasing ρ_b, at most max(n, 50)
// per round unless AddPerRound is set — taking every block after a warm start made W
// jump to ~1500 blocks on which the restricted IPM hit its iteration cap.
// Each round solves the restricted program on W (below, with row generation) and
// certifies the unrounded solution first (cheap bounds on W). Blocks with
// ‖x_b‖ ≤ ZeroTol·max‖x‖ are then set to zero: if the unrounded point is certified
// and the rounded one's objective is within Tol of the same dual bound, the rounded
// (sparser) point is returned, certified by that bound (Result.MaxRatio is then the
// certifying point's). Otherwise W ← (W minus the rounded blocks) ∪ all violators
// outside it at the unrounded point's λ (AddPerRound caps their number when > 0;
// MaxWorkRows caps the cone rows). A block that left W and comes back is kept
// ("sticky") so the loop cannot cycle. There is no second "support re-solve": the
// pipeline prunes the final solution by a Carathéodory reduction, so the solver only
// returns a certified optimal point.
//
// # Row generation (CNN programs)
//
// A CNN block has thousands of cone rows (fashion_gap: 200 images × 49 patches =
// 9800 per block, 2.9 M over all blocks), of which at most H are active at the
// optimum. Each block b of W keeps a subset R_b of its rows (wsRun.rows): at first the
// 4H rows with the smallest slack sgn·C_r ĝ_p at its pattern's unit gate (the facets
// nearest the direction that generated the pattern). solveRestricted solves the
// restricted IPM on (W, R), then checks every row of every block of W at the returned
// x (one product X·Cᵀ per family) and adds the rows with (M_b x_b)_r < −rowTol·‖x_b‖
// (rowTol = 1e-9; rows of C have unit norm; at most 2H per block per check, most
// violated first), and re-solves (cold; at most 30 solves per round) until no row is
// violated. The returned point is then feasible for the FULL program up to
// rowTol·‖x_b‖ (the final feasibility test against TolFeas is unchanged), and the
// certificate (ρ over the full cones, NNLS included, and the dual bound) is exactly
// the one above, so optimality is certified against the full program. Rows a block
// gained stay with it when it leaves and re-enters W. On by default when a family has
// more than 1024 cone rows (Settings.RowGen: 1 on, −1 off). With few rows per block the
// cone products run per block (coneFam.direct) instead of as Gemms over all Nc rows.
//
// Certificate: ρ = max_b ρ_b over ALL blocks makes θλ dual feasible for θ ≤ 1/ρ (the
// dual constraints are homogeneous), so
//
//	Dual = max_{0 ≤ θ ≤ 1/ρ} D(θλ)   (≤ p*; squared D(λ) = λᵀy − ½‖λ‖²; with a bias λ is centred)
//
// evaluated by certify.SafeBound so that it holds in floating point: every ρ_b is an
// upper bound with the rounding errors of the products that formed it added
// (gradErr: γ_{Np+1}·Σ_r|Weight·λ|‖A_r‖ for the gradient rows; muBound and
// certify.ConeMaxUp for the cone terms), and the dual value carries its own rounding
// margin. The reported Dual is the best over rounds, and Result.DualPoint its λ. Objective is evaluated at the returned
// point (blocks outside W are 0) with the structured operators. Optimal iff
// Objective − Dual ≤ Tol·max(1, |Objective|) and the largest cone violation ≤
// TolFeas·max(1, ‖y‖∞). Since Dual ≈ p* − (ρ−1)·βΣ‖x_b‖, ρ − 1 ≤ Tol suffices, which
// needs λ to about Tol·β/‖𝒫‖, hence an interior-point restricted solve. When no block
// outside W violates and the gap is still too large, the inner tolerance is tightened
// 100× (twice at most), then the status is Inaccurate with the certified bracket.
//
// Restricted solve (pdipm.go). With Ĵ = Π[s_b𝒫_b]_{b∈W} (n × Σ H_b, dense), ỹ = Πy,
// z = (t_b, x_b)_b, it is the conic QP
//
//	minimize ½‖Ĵx − ỹ‖² + βΣ t_b   s.t.  s_L = M_b x_b ≥ 0,  s_Q = (t_b, x_b) ∈ SOC(H_b+1),
//
// in CVXOPT coneqp form (Vandenberghe, "The CVXOPT linear and quadratic cone program
// solvers"): G z + s = 0 with G = −[M; I], KKT  Pz + q + Gᵀu = 0, s ∘ u = 0, s, u ∈ K.
// Infeasible-start primal–dual method, start x = 0, t = 0, s = e, u = ν_b e with
// ν_b = β + ‖Ĵ_bᵀỹ‖. Each iteration:
//
//	scaling  LP: W = diag(√(s/u)), λ = √(su);  SOC (Nesterov–Todd): s̄ = s/√(sᵀJs),
//	         ū = u/√(uᵀJu), γ = √((1+s̄ᵀū)/2), w̄ = (s̄ + Jū)/(2γ), η = (sᵀJs/uᵀJu)^{1/4},
//	         W = η[w̄₀ w̄₁ᵀ; w̄₁ I + w̄₁w̄₁ᵀ/(1+w̄₀)], λ = Wu = W⁻¹s;
//	Newton   λ∘(WΔu + W⁻¹Δs) = r_c,  GΔz + Δs = −r_p,  PΔz + GᵀΔu = −r_d.  With d = λ⧵r_c:
//	         Δs = −r_p − GΔz, Δu = W⁻¹d − W⁻²Δs, and eliminating,
//	         (P + GᵀW⁻²G)Δz = −r_d − GᵀW⁻¹d − GᵀW⁻²r_p,
//	         P + GᵀW⁻²G = ĴᵀĴ + ⊕_b (W_Q,b⁻² + 0 ⊕ M_bᵀ diag(u/s) M_b);
//	Mehrotra predictor r_c = −λ∘λ (step α_a), σ = (μ_a/μ)³, corrector
//	         r_c = −λ∘λ + σμe − (W⁻¹Δs_a)∘(WΔu_a);  step 0.99·(largest step in the cones;
//	         SOC: smallest positive root of (v₀+αd₀)² − ‖v₁+αd₁‖², cancellation-free).
//
// Newton system (pdipm.go, linsys). K Δz = b, K = ĴᵀĴ + ⊕_b B_b, is solved by
// preconditioned conjugate gradients against K applied blockwise (stop: residual
// ≤ max(1e-14‖b‖∞, 1e-13·max(β, ‖Ĵᵀỹ‖∞)), ≤ 30 iterations; 1–3 in practice). The
// preconditioner P = K + ⊕_b γ_b r_b r_bᵀ is factored densely (Cholesky of
// (ΣH_b + |W|)², Gram ĴᵀĴ formed once per solve) or by Woodbury with one n×n Cholesky
// of I + ĴB̃⁻¹Ĵᵀ, whichever costs fewer flops. Near the optimum a nonzero block has s
// and u on the boundary of its SOC, w̄₀ ≈ 1e4 and cond(W⁻²) = (w̄₀ + ‖w̄₁‖)⁴ ≈ 1e17, so
// the explicit B_b = W⁻² + Ĝ_b (Ĝ_b = 0 ⊕ M_bᵀdiag(u/s)M_b) has lost its smallest
// eigenvalue (along the ray r_b of x_b) to rounding. This was the old accuracy floor
// (measured: B_b's Cholesky failed at a relative gap of 5e-6, the shifted factor's
// inverse was wrong by O(1), the Woodbury solve's residual was ≈ ‖b‖ and ‖r_d‖ jumped
// from 1e-13 to 1e-4 in one step). Now B_b is never inverted explicitly:
// B_b = W⁻¹C_bW⁻¹ with C_b = I + WĜ_bW ⪰ I built from a = M_b w̄₁ (scaledGram: no
// product of explicit W and Ĝ, whose rounding ∝ ‖W‖² swamps the I), C̃_b = C_b +
// γ_b(Wr)(Wr)ᵀ factored, B̃_b⁻¹ = R_bR_bᵀ with R_b = W D L⁻ᵀ applied in factored form;
// the ray regularisation γ_b = 1e-10·‖Ĵr_b‖² (r_b = (1, ŵ₁)/√2, W's top
// eigenvector) caps B̃⁻¹ at 1/γ_b so Woodbury cancels little, and changes P only
// where ĴᵀĴ has curvature ≫ γ_b. The per-pattern factor L_g (L_gL_gᵀ = Σ_b R_{b,x}R_{b,x}ᵀ)
// comes from a Householder QR of the stacked R_{b,x}ᵀ, not from a Cholesky of the
// explicit sum. A Cholesky that still fails in floating point is retried with a
// diagonal shift δ = 1e-14…1e-6 of the equilibrated matrix (PCG corrects it).
// Woodbury shares the two copies of a pattern (Ĵ_v = −Ĵ_w = Π𝒫_p, so
// ĴB̃⁻¹Ĵᵀ = Σ_p Π𝒫_p L_gL_gᵀ𝒫_pᵀΠ: one n×H column block per
// pattern); Ĵ itself is applied through its n × (one block per pattern) grouped
// copy Jg, so each product with Ĵ or Ĵᵀ costs half. The Gram UUᵀ is one Ddot per
// upper-triangle entry, rows split over GOMAXPROCS goroutines (gramRows: each entry
// is computed by one dot in a fixed order, so results are bit-identical whatever the
// scheduling); the per-block (H+1)² factorizations are plain loops. The cone rows
// M_b = diag(Sign_p)·C[rows] are never stored per block: M_b x_b for all blocks of a family is one product
// X·Cᵀ, Σ M_bᵀu_b one product U·C, and every M_bᵀdiag(d_b)M_b one product D·CC with
// CC[r] = (c_ri c_rj)_{i≤j} formed once (the signs square away). Π𝒫_p (n×H) is
// aggregated once per pattern, so the Np prediction rows never enter the iteration.
// Step: Mehrotra; when the corrector's step is < ½ the predictor's, the centred
// direction r_c = −λ∘λ + σμe (same factorization) is tried and the longer step kept.
// Stopping: max(sᵀu/max(1,|f|), ‖r_d‖∞/max(β, ‖Ĵᵀỹ‖∞),
// ‖r_p‖∞/max(1, ‖z‖∞)) ≤ InnerTol (1e-10), or sᵀu/max(1,|f|) ≤ Tol/10 with both
// residuals ≤ 1e-8 (all the outer certificate needs; scaled down with InnerTol when
// it is tightened), else the best iterate after MaxInner iterations, after 8
// iterations without a better one once the error is ≤ 1e-4 (the directions have
// lost their accuracy), or a failed factorization/step; the outer certificate
// decides the status.
// The returned x satisfies the cones up to r_p (≈ 1e-15 relative in the tests).
//
// Blocks of constrained families whose pattern has no gate strictly inside its cone
// never enter W (they would have no interior); if such a block violates, the status
// stays Inaccurate.
//
// Measured (shared 2-core machine; other helpers kept the load at 1–3, so the
// second core was mostly busy and wall times vary by ±20 %):
//   - BenchmarkFCRelu200x10P100 (n = 200, H = 11, 200 blocks, β = 1e-3, Tol 1e-7:
//     the gap rule is absolute below |f| = 1, so this certifies issue #6's 1e-6
//     RELATIVE accuracy): optimal, objective 0.1081310839, certified gap 4.4e-9
//     (4.1e-8 relative), 125 nonzero blocks, 1 round, 42 IPM iterations,
//     0.64–0.67 s, 15 ms per iteration (factor ≈ 9 ms of it, of which the n×n Gram
//     UUᵀ ≈ 4.5 ms; three Newton solves ≈ 1 ms each incl. 1–3 PCG iterations). Before
//     the Newton-solve fix: 0.59 s at Tol 1e-6 with 9.9e-7 relative only by luck, and
//     Tol 1e-7 was out of reach. compiler/train's BenchmarkStructuredReLU200 (same
//     size, seed 1 of benchReLU, Tol 1e-7): optimal in 52 iterations, 0.76–0.79 s,
//     certified 1.0e-8 relative (was 1.5 s, 111 iterations over 2 rounds, stalled
//     at 7.6e-6 relative).
//   - BenchmarkFCRelu200Seeds (five seeded instances of that size, Tol 1e-7): all
//     optimal, median 0.67–0.70 s, worst 0.73–0.78 s, worst certified relative gap
//     4.5e-8, 230 IPM iterations in all. At Tol 1e-9 all five are optimal in 0.7–0.9 s,
//     at Tol 1e-10 too (seed 1 needs a tightening round: 1.3 s); TestTightGap checks
//     Tol 1e-9 (the old code ended inaccurate at 3.5e-7 absolute). Not reached: the
//     issue's ≤ 0.5 s; the IPM's middle phase still takes ≈ 30 of the 42–52
//     iterations (affine steps 0.2–0.5, LP centrality 0.02…30). Tried and dropped:
//     Gondzio multiple centrality correctors on the LP pairs (≤ 3 per iteration,
//     boxes [0.1, 10] and [0.2, 5], targets min(1, 1.5α + 0.1), min(1, α + 0.2),
//     min(1, 2α)): 15–20 % fewer iterations but each corrector costs a solve plus a
//     step search, so wall time was the same or worse (FC 3.4 → 3.5–3.7 s over the 5
//     seeds; fashion_gap 18.0 → 19.5 s; fashion_maxpool 33.6 → 32.0 s); σ = (μ_a/μ)^2 or ^4
//     and step factors 0.95–0.999 instead of 0.99: no gain.
//   - cnnc solve examples/quickstart.cnn --tol 1e-8 (n = 40, 3122 blocks, H = 3):
//     optimal, certified gap 1.6e-10, 47 IPM iterations, 1.6 s (was inaccurate at
//     ≈ 1.6e-8 in 95 iterations, 1.5 s). Ray regularisation δ (γ = δ‖Ĵr‖²) measured
//     on it: δ = 1e-6: 18 PCG iterations per solve; 1e-8: 8; 1e-10: 2.4; 0: a
//     second working-set round (96 IPM iterations).
//   - cnnc solve examples/fashion_gap.cnn (n = 200, 200 patterns, 400 blocks, H = 16,
//     9800 rows per block, 2.9 M rows; tol 1e-6): optimal, objective 3.616539912,
//     certified gap 3.9e-8 (1.1e-8 relative), 426 IPM iterations over the
//     row-generation solves, 18–22 s, training accuracy 1.0, 146 active neurons; two
//     runs give bit-identical weights. (Before: tol 1e-5 needed, gap 2.8e-5, 23 s.)
//   - cnnc solve examples/fashion_maxpool.cnn (n = 150, 100 max-patterns, 200 blocks,
//     H = 49, 16 patches; tol 1e-6): optimal, objective 0.1590492006, certified gap
//     1.5e-8, 212 IPM iterations, 34–37 s, training accuracy 1.0, 55 active neurons.
//     (Before: tol 1e-5, gap 2.5e-7, 26–66 s.)
//   - Losses (compiler/train BenchmarkQuickstartLosses: examples/quickstart.cnn,
//     n = 40, 1561 exact patterns, 3122 blocks, β = 1e-3, tol 1e-6; machine load
//     17–28 from other sessions, so wall times varied 2× between runs): squared
//     optimal in 40 IPM iterations (1 round), certified gap 4.4e-7; logistic optimal
//     in 35 iterations (1 round), gap 6e-9; hinge optimal in 107 iterations (round 1
//     on all blocks, 45; round 2 on its 220-block support; the support polish, 32 on
//     ≈ 40 blocks), gap 6.8e-7. Wall time relative to squared in the same run:
//     logistic 0.7–1.9×, hinge 1.35–4.0× (last run, load 26: 1.7× and 2.5×).
//   - CostMaps (compiler/derive BenchmarkThreeLayerSolvers, -benchtime 3x, tol 1e-6,
//     exact patterns; load 27–29 from other sessions, so ratios within a run only;
//     re-measure on a quiet machine): §8 reference instance (51 patterns, 102
//     blocks, 3 SOCs each) group 0.030 s vs the conic path 0.19 s; §9b A1 (group
//     regulariser, 430 pairs, 860 blocks, 2 SOCs each) 0.58 s vs 0.58 s (every
//     block violates at the start, so W is the whole program and the restricted
//     solve is the conic path's solve: 21 IPM iterations, one round). The ‖·‖₂ rows
//     in the same run: A 0.10 s vs 0.82 s, B 1.3 s vs 2.0 s, pooled CNN 3.3 s vs
//     8.3 s. All optimal, objectives equal to the reference values. cnnc solve
//     examples/circ3_signals.cnn (832 sampled patterns, 1664 blocks, 9 SOCs each;
//     load 22): group optimal, certified gap 1.1e-10, 27.6 s wall (7.4 s user) vs
//     `--solver conic` inaccurate, 32.0 s (7.7 s user), both 1.41176695; the
//     spiral of §9b with the group regulariser (spiral_three.cnn with `regularizer
//     group`, 1337 sampled pairs): group optimal 29.8 s (8.5 s user) vs conic
//     iteration_limit 28.7 s (9.2 s user), both 6.8914466.
//   - Tried and dropped (fashion_gap at 100 × 100): IPM tolerance 1e-4 for the row
//     rounds before the last (same iteration counts: the middle phase dominates);
//     adding near-active rows (slack < 0.02) too (same 5 row rounds, 30 % more rows);
//     dropping zero blocks between row rounds (more working-set rounds, 7.2 vs 5 s).
//
// # Older methods
//
// Settings.Method "ipm" or "al" selects one of the previous methods; both report
// through the certificate below, so neither can claim Optimal without the gap bound.
//
// "ipm" (needs interior Gates for every pattern): a
// primal barrier method on (x_b, t_b), ‖x_b‖ < t_b, 𝒞_b x_b > 0, minimising
// τ(½‖Π(ŷ − y)‖² + βΣt_b) − Σlog(t_b² − ‖x_b‖²) − Σlog(𝒞x)_r by damped Newton steps
// (Armijo, factor ½), τ ← 20τ after each centering (λ²/2 ≤ 1e-3). The Newton matrix
// τJᵀΠJ + B (B block diagonal, (H+1)² per block) is solved by Woodbury: one dense
// product U·Uᵀ (n × n, U = [𝒫_p L_p]_p, the two copies of a pattern share 𝒫_p) and
// one n×n Cholesky, all small factorizations equilibrated. Iterates are strictly
// feasible, so Objective is always a true upper bound and μ_r = 1/(τ s_r) feeds the
// dual bound. If Newton stalls (a factorization fails or the line search finds no
// decrease, which happens at τ ≈ 1e8–1e9 as the barrier Hessian degenerates) the
// solve stops with status Inaccurate and the bracket it has.
//
// "al": augmented Lagrangian (§3.4) with R-FISTA inner solves (§3.3):
//
//	φ_{δ,Γ}(x) = ½‖Π(ŷ(x) − y)‖² + (δ/2) Σ ‖(Γ/δ − 𝒞x)_+‖²
//	x ← argmin φ_{δ,Γ}(x) + βΣ‖x_b‖   (R-FISTA, warm started, to the inner tolerance)
//	Γ ← (Γ − δ𝒞x)_+                   (textbook multiplier step, not scnn's clipped one)
//
// R-FISTA: prox-gradient step from the extrapolated point with the block
// soft-threshold x_b ← max(0, 1 − ηβ/‖z_b‖)z_b; backtracking η ← 0.8η until the
// Bregman divergence of φ between y and x⁺ (computed from residual differences, free of
// cancellation) is ≤ ‖x⁺ − y‖²/(2η); step growth η ← 1.25η when 1/η ≥ 2·L̂ (local
// curvature estimate); gradient-mapping restart when ⟨x⁺ − x, y − x⁺⟩ > 0. The inner
// solve stops when the largest block gradient mapping ‖(y_b − x⁺_b)/η‖ ≤ ε_k·β, with
// ε_k decreasing geometrically (Settings). δ starts at L_loss/‖C‖² (penalty as stiff
// as the loss) and grows ×4 when the violation does not fall by 4× per outer step.
//
// Why the barrier method was the previous default (measured on BenchmarkFCRelu200x10P100,
// n = 200, H = 11, P = 100, β = 1e-3, on the shared 2-core machine): R-FISTA alone on
// the gated relaxation of that program still had a certified gap of 3.9e-4 after
// 20 000 iterations (7.8 s), and AL + R-FISTA on the ReLU program was still lowering
// the objective (0.1119 after 50 000 iterations, 48 s); the first-order methods
// cannot reach a 1e-6 gap on this ill-conditioned, β-small problem. One FISTA
// iteration costs ≈ 4× the two dense products it is built on (1.46 ms vs 0.37 ms
// when measured; the rest is the elementwise mask/scatter passes and line search).
// The barrier method reaches objective 0.1081942 in 140 Newton steps (35–180 ms each
// depending on load) but stalls before its dual bound is tight (see "Known limits").
//
// # Stopping rule
//
// After every inner solve (al) or centering (ipm): Optimal when max violation ≤
// TolFeas·max(1, ‖y‖∞) and Objective − Dual ≤ Tol·max(1, |Objective|) (defaults 1e-6,
// 1e-6; note the gap is absolute when |Objective| < 1). Otherwise the method goes
// on, or ends with IterationLimit / TimeLimit / Inaccurate (a result, not an error;
// Objective and Dual still bracket the optimum when Restored).
//
// # Known limits
//
//   - Each row-generation re-solve of a CNN program starts cold (no interior-point
//     warm start), so a program needing many row rounds pays a full IPM solve per
//     round (fashion_maxpool: 212 iterations at ≈ 160 ms, the (H+1)³ block work and
//     the n×n Gram dominate).
//
//   - The FC benchmark (issue #6) takes 0.64–0.73 s at 1e-6 relative, not ≤ 0.5 s
//     (see Measured: iteration count of the middle phase × the n×n Gram per iteration).
//
//   - Sparsity: the IPM returns the relative interior of the optimal face, so when the
//     optimum is not unique the support can exceed n + 1 (37 > 31 on one test); a
//     Carathéodory reduction of the support is not implemented.
//
//   - The dual bound from the barrier method is weak unless centering is exact: the
//     θ-scaling loses up to half the dual value when a block's ‖s𝒫ᵀλ + 𝒞ᵀμ‖ exceeds β
//     by a few percent. On the tests the primal objective agrees with CVXOPT to
//     1e-5 relative while the certified gap is often far larger, so the status is
//     Inaccurate. A primal–dual (Nesterov–Todd) interior-point method, or dual
//     multipliers corrected by the Newton step, would fix this.
//
//   - The AL restoration along gates can move a block far when its gate is close to a
//     cone facet (t = viol/(𝒞g)_r is then large); the returned Objective is honest
//     (it is evaluated at the restored point) but can be poor.
//
//   - CostMaps programs: squared loss and method ws only, and their restricted solves
//     run backend/native/cone's generic IPM (see "Block costs"), not pdipm, so they are
//     no faster per block than the conic path; teaching pdipm's block Newton system
//     several cones per block (B_b = ⊕_j W_j⁻² + 0 ⊕ M_bᵀDM_b) is the way to speed them
//     up. At Tol 1e-9 the IPM's ε = 1e-8 residuals rarely certify (the derive tests
//     fall back to 1e-8 or 1e-7).
//
//   - Hinge loss: the LP's degenerate end game (margin samples with h → ∞, the rest
//     with h → 0) makes the preconditioner lose accuracy; the working set then needs a
//     second round on the support (quickstart: 2 rounds, 75 IPM iterations against 40
//     for squared loss). When PCG stagnates on a Newton system of order ≤ 1000 the
//     dense factorization of the same preconditioner takes over (denseFallback).
//
// Determinism: all reductions run in a fixed order on one goroutine; gonum's Gemm
// splits only over output blocks, so results are bit-identical across runs.
package group
