package group

import (
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// proxStep sets x = prox_{κ‖·‖₂ per block}(y − η·g) = max(0, 1 − κ/‖z_b‖)·z_b, z = y − η·g,
// block by block (rows of length h).
func proxStep(x, y, g []float64, eta, kappa float64, h int) {
	for b := 0; b+h <= len(x); b += h {
		xb, yb, gb := x[b:b+h], y[b:b+h], g[b:b+h]
		for j := range xb {
			xb[j] = yb[j] - eta*gb[j]
		}
		nz := norm(xb)
		if nz <= kappa {
			for j := range xb {
				xb[j] = 0
			}
			continue
		}
		f := 1 - kappa/nz
		for j := range xb {
			xb[j] *= f
		}
	}
}

// inner runs R-FISTA on φ_{δ,Γ}(x) + βΣ‖x_b‖ from r.x until the largest block
// gradient-mapping norm ‖(y_b − x⁺_b)/η‖ ≤ tol, the budget of iterations is spent,
// or the deadline passes. It returns the iterations done and whether time ran out.
func (r *run) inner(tol float64, budget int, deadline, start time.Time, base int, gap float64, rec solver.Recorder) (int, bool, solver.Status) {
	set := r.set
	for i, fm := range r.fams {
		fm.copyState(r.xp[i], r.x[i])
	}
	r.residual(r.x, r.resX)
	t := 1.0
	for it := 0; it < budget; it++ {
		if !deadline.IsZero() && it%16 == 0 && time.Now().After(deadline) {
			return it, true, ""
		}
		if it%16 == 0 {
			if st := solver.Stop(set.Context); st != "" {
				return it, false, st
			}
		}
		tn := (1 + math.Sqrt(1+4*t*t)) / 2
		m := (t - 1) / tn
		for i, fm := range r.fams {
			if m > 0 {
				fm.extrapolate(r.yv[i], r.x[i], r.xp[i], m)
			} else {
				fm.copyState(r.yv[i], r.x[i])
			}
		}
		if m > 0 {
			r.residual(r.yv, r.resY)
		} else {
			copy(r.resY, r.resX)
		}
		r.gradAll(r.yv, r.resY)
		var dist2, breg float64
		for bt := 0; ; bt++ {
			for i, fm := range r.fams {
				proxStep(r.xn[i].V.Data, r.yv[i].V.Data, r.grad[i].Data, r.eta, r.eta*r.beta, fm.H)
				fm.forward(r.xn[i])
			}
			r.residual(r.xn, r.resN)
			dist2 = 0
			for i := range r.fams {
				a, b := r.xn[i].V.Data, r.yv[i].V.Data
				for j := range a {
					d := a[j] - b[j]
					dist2 += d * d
				}
			}
			breg = 0
			for i, v := range r.resN {
				d := v - r.resY[i]
				breg += d * d
			}
			breg *= 0.5
			for i, fm := range r.fams {
				breg += r.delta * fm.penaltyBregman(r.xn[i], r.yv[i], r.gam[i], r.delta)
			}
			if dist2 == 0 || breg <= dist2/(2*r.eta) || bt >= 200 {
				break
			}
			r.eta *= set.Backtrack
		}
		// Gradient mapping (largest block) and the restart test ⟨x⁺ − x, y − x⁺⟩ > 0.
		gm, inprod := 0.0, 0.0
		for i, fm := range r.fams {
			xn, yv, x := r.xn[i].V.Data, r.yv[i].V.Data, r.x[i].V.Data
			for b := 0; b < len(xn); b += fm.H {
				s := 0.0
				for j := b; j < b+fm.H; j++ {
					d := yv[j] - xn[j]
					s += d * d
					inprod += (xn[j] - x[j]) * d
				}
				gm = math.Max(gm, s)
			}
		}
		gm = math.Sqrt(gm) / r.eta
		if inprod > 0 {
			tn = 1 // restart: drop momentum
		}
		t = tn
		r.xp, r.x, r.xn = r.x, r.xn, r.xp
		r.resX, r.resN = r.resN, r.resX
		if dist2 > 0 && 1/r.eta >= set.GrowThreshold*2*breg/dist2 {
			r.eta *= set.StepGrow
		}
		if (base+it+1)%set.RecordEvery == 0 {
			viol := 0.0
			for i, fm := range r.fams {
				_, v := fm.penalty(r.x[i], r.gam[i], r.delta)
				viol = math.Max(viol, v)
			}
			obj := 0.5*dot(r.resX, r.resX) + r.regSum(r.x)
			rec.Record(solver.Iterate{Iter: base + it + 1, PrimalRes: viol, DualRes: gm, Gap: gap, Objective: obj, Elapsed: time.Since(start)})
		}
		if gm <= tol {
			return it + 1, false, ""
		}
	}
	return budget, false, ""
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// cert is the certificate at the current AL iterate.
type cert struct {
	primal, dual, gap float64
	viol, kkt         float64
	restored          bool
	sol               *convex.Solution
	mult              [][]*mat.Dense
}

// certify evaluates the dual bound and the restored primal point at r.x (package doc,
// "Certificate").
func (r *run) certify() cert {
	// μ = (Γ − δ·Sign∘Q)_+, the multiplier of the next AL step.
	mus := make([][]float64, len(r.fams))
	for i, fm := range r.fams {
		mus[i] = make([]float64, len(r.gam[i]))
		fm.multipliers(r.x[i], r.gam[i], r.delta, mus[i])
	}
	return r.certifyMu(mus)
}

// certifyMu evaluates the certificate at r.x for cone multipliers mus (μ ≥ 0, laid
// out like Γ): the dual bound from (λ, μ) = (y − ŷ, mus) scaled by θ, the KKT residual,
// and the primal objective after feasibility restoration.
func (r *run) certifyMu(mus [][]float64) cert {
	var c cert
	r.residual(r.x, r.resX)
	yhat := append([]float64(nil), r.yhat...)
	for i, fm := range r.fams {
		_, v := fm.penalty(r.x[i], mus[i], 1)
		c.viol = math.Max(c.viol, v)
	}
	// g_b = −(s𝒫_bᵀλ + 𝒞_bᵀμ_b) with λ = −res (δ = 0: the K term is −Sign·μ).
	for i, fm := range r.fams {
		fm.gradient(r.x[i], r.resX, mus[i], 0, r.grad[i], r.work[i], r.workC[i])
	}
	gmax := 0.0
	for i, fm := range r.fams {
		V, G := r.x[i].V.Data, r.grad[i].Data
		for b := 0; b < len(V); b += fm.H {
			gb, xb := G[b:b+fm.H], V[b:b+fm.H]
			ng := norm(gb)
			gmax = math.Max(gmax, ng)
			nx := norm(xb)
			var k float64
			if nx > 0 {
				s := 0.0
				for j := range gb {
					d := gb[j] + r.beta*xb[j]/nx
					s += d * d
				}
				k = math.Sqrt(s)
			} else {
				k = math.Max(0, ng-r.beta)
			}
			c.kkt = math.Max(c.kkt, k)
		}
	}
	a, cc := 0.0, 0.0 // λᵀy, ‖λ‖²
	for i, v := range r.resX {
		a -= v * r.y[i]
		cc += v * v
	}
	thetaMax := 1.0
	if gmax > r.beta {
		thetaMax = r.beta / gmax
	}
	theta := thetaMax
	if cc > 0 {
		theta = math.Min(thetaMax, math.Max(0, a/cc))
	}
	c.dual = theta*a - 0.5*theta*theta*cc

	// Feasibility restoration along the gates.
	c.restored = true
	sol := &convex.Solution{Blocks: make([][]*mat.Dense, len(r.fams))}
	c.mult = make([][]*mat.Dense, len(r.fams))
	reg := 0.0
	for i, fm := range r.fams {
		P, sp, H := fm.P, fm.S*fm.P, fm.H
		V := append([]float64(nil), r.x[i].V.Data...)
		if fm.Nc > 0 {
			tb := make([]float64, sp)
			for row := 0; row < fm.Nc; row++ {
				sg := fm.Sign[row*P : row*P+P]
				q := r.x[i].Q.Data[row*sp : row*sp+sp]
				for s := 0; s < fm.S; s++ {
					for p, sv := range sg {
						if sv == 0 {
							continue
						}
						v := -sv * q[s*P+p]
						if v <= 0 {
							continue
						}
						if fm.gateOK == nil || !fm.gateOK[p] {
							tb[s*P+p] = math.Inf(1)
							continue
						}
						tb[s*P+p] = math.Max(tb[s*P+p], v/fm.gateC[row*P+p])
					}
				}
			}
			for s := 0; s < fm.S; s++ {
				for p := 0; p < P; p++ {
					t := tb[s*P+p]
					if t == 0 {
						continue
					}
					if math.IsInf(t, 1) {
						c.restored = false
						continue
					}
					t *= 1 + 1e-12 // land inside, not on, the boundary after rounding
					b := (s*P + p) * H
					for j := 0; j < H; j++ {
						V[b+j] += t * fm.gates[p*H+j]
					}
					sg := fm.signs[s]
					for row := 0; row < fm.Np; row++ {
						yhat[fm.sample[row]] += sg * t * fm.W[row*P+p] * fm.gateA[row*P+p]
					}
				}
			}
		}
		sol.Blocks[i] = make([]*mat.Dense, fm.S)
		for s := 0; s < fm.S; s++ {
			blk := mat.NewDense(P, H, nil)
			for p := 0; p < P; p++ {
				row := V[(s*P+p)*H : (s*P+p+1)*H]
				blk.SetRow(p, row)
				reg += norm(row)
			}
			sol.Blocks[i][s] = blk
		}
		if fm.Nc > 0 {
			c.mult[i] = make([]*mat.Dense, fm.S)
			for s := 0; s < fm.S; s++ {
				m := mat.NewDense(fm.Nc, P, nil)
				for row := 0; row < fm.Nc; row++ {
					for p := 0; p < P; p++ {
						m.Set(row, p, mus[i][row*sp+s*P+p])
					}
				}
				c.mult[i][s] = m
			}
		}
	}
	mean := 0.0
	if r.bias {
		for i, v := range yhat {
			mean += r.y[i] - v
		}
		mean /= float64(r.n)
		sol.Bias = mean
	}
	loss := 0.0
	for i, v := range yhat {
		d := v + mean - r.y[i]
		loss += d * d
	}
	c.primal = 0.5*loss + r.beta*reg
	c.gap = c.primal - c.dual
	c.sol = sol
	return c
}
