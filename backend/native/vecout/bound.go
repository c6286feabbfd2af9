package vecout

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// Dual bounds (docs/math/10-vector-output.md, "certificate"). The dual of the vector
// program is
//
//	max_V  −F*(V)   s.t.  ‖Vᵀφ(u)‖ ≤ β for every unit u, ‖u‖ ≤ 1   [and 1ᵀV = 0 with an output bias]
//
// with F* the conjugate of the loss: squared F*(V) = ⟨V, Y⟩ + ½‖V‖²; cross-entropy
// (one-hot rows y_i) F*(V) = Σ_i Σ_k q_ik log q_ik with q = Y + V, finite only when
// every row q_i lies in the probability simplex. Any V satisfying the constraints
// gives a lower bound −F*(V) on the optimum. From a candidate direction V₀ (the loss
// gradient at a prediction, after Repair) and ρ̄ ≥ sup_u ‖V₀ᵀφ(u)‖, every tV₀ with
// 0 ≤ t ≤ β/ρ̄ is feasible (cross-entropy also needs t ≤ 1), so
//
//	LB = max_{0 ≤ t ≤ t̄} −F*(tV₀)
//
// is a lower bound on the optimum over the oracle's scope. It is concave in t and is
// maximised in closed form (squared) or by golden-section search (cross-entropy).

// Repair returns the gradient direction V₀ ready for the dual: without an output bias
// V itself; with one, V projected onto 1ᵀV = 0 — squared loss: column means removed;
// cross-entropy: column means removed, then mixed with the feasible point ȳ − y_i
// (ȳ the class frequencies) just enough that every row of Y + V₀ is a probability
// vector. ok is false when no such mix exists (a class without samples).
func Repair(loss string, Y, V *mat.Dense, bias bool) (V0 *mat.Dense, ok bool) {
	V0 = mat.DenseCopyOf(V)
	if !bias {
		return V0, true
	}
	n, c := V.Dims()
	mean := make([]float64, c)
	for i := 0; i < n; i++ {
		for k, v := range V0.RawRowView(i) {
			mean[k] += v
		}
	}
	for k := range mean {
		mean[k] /= float64(n)
	}
	for i := 0; i < n; i++ {
		row := V0.RawRowView(i)
		for k := range row {
			row[k] -= mean[k]
		}
	}
	if loss != convex.LossCrossEntropy {
		return V0, true
	}
	ybar := make([]float64, c)
	for i := 0; i < n; i++ {
		for k, v := range Y.RawRowView(i) {
			ybar[k] += v / float64(n)
		}
	}
	theta := 0.0
	for i := 0; i < n; i++ {
		y, v := Y.RawRowView(i), V0.RawRowView(i)
		for k := range v {
			q := y[k] + v[k]
			if q < 0 {
				if ybar[k] <= 0 {
					return V0, false
				}
				theta = math.Max(theta, -q/(ybar[k]-q))
			}
		}
	}
	if theta > 0 {
		theta = math.Min(1, theta*(1+1e-12)+1e-300)
		for i := 0; i < n; i++ {
			y, v := Y.RawRowView(i), V0.RawRowView(i)
			for k := range v {
				v[k] = (1-theta)*v[k] + theta*(ybar[k]-y[k])
			}
		}
	}
	return V0, true
}

// Bound is max_{0 ≤ t ≤ t̄} −F*(tV₀) with t̄ = β/ρ (∞ when ρ = 0; cross-entropy also
// t̄ ≤ 1), lowered by a rounding margin so that it is a bound in floating point. It
// returns the bound and the maximising t.
func Bound(loss string, Y, V0 *mat.Dense, beta, rho float64) (lb, t float64) {
	tmax := math.Inf(1)
	if rho > 0 {
		tmax = beta / rho
	}
	n, c := V0.Dims()
	if loss == convex.LossCrossEntropy {
		tmax = math.Min(tmax, 1)
		f := func(t float64) float64 { return -ceConj(Y, V0, t) }
		lo, hi := 0.0, tmax
		g := (math.Sqrt(5) - 1) / 2
		a, b := hi-g*(hi-lo), lo+g*(hi-lo)
		fa, fb := f(a), f(b)
		for it := 0; it < 80; it++ {
			if fa < fb {
				lo, a, fa = a, b, fb
				b = lo + g*(hi-lo)
				fb = f(b)
			} else {
				hi, b, fb = b, a, fa
				a = hi - g*(hi-lo)
				fa = f(a)
			}
		}
		t = (lo + hi) / 2
		best := f(t)
		if ft := f(tmax); ft > best {
			t, best = tmax, ft
		}
		// entropies of n rows: rounding ≤ a few ulps per term
		return best - 1e-13*(1+float64(n*c)) - 1e-12*math.Abs(best), t
	}
	vy, vv, mag := 0.0, 0.0, 0.0
	for i := 0; i < n; i++ {
		y, v := Y.RawRowView(i), V0.RawRowView(i)
		for k := range v {
			vy += v[k] * y[k]
			vv += v[k] * v[k]
			mag += math.Abs(v[k] * y[k])
		}
	}
	if vv == 0 {
		return 0, 0
	}
	t = math.Max(0, math.Min(-vy/vv, tmax))
	lb = -t*vy - 0.5*t*t*vv
	return lb - 1e-13*(mag*t+t*t*vv) - 1e-15*math.Abs(lb), t
}

// ceConj is F*(tV₀) for cross-entropy: Σ q log q with q = Y + tV₀ (rows in the
// simplex for 0 ≤ t ≤ 1 when V₀ comes from Repair or a softmax gradient).
func ceConj(Y, V0 *mat.Dense, t float64) float64 {
	n, _ := V0.Dims()
	s := 0.0
	for i := 0; i < n; i++ {
		y, v := Y.RawRowView(i), V0.RawRowView(i)
		for k := range v {
			q := y[k] + t*v[k]
			if q > 0 {
				s += q * math.Log(q)
			} else if q < -1e-12 {
				return math.Inf(1)
			}
		}
	}
	return s
}

// Certificate is a certified lower bound with its provenance.
type Certificate struct {
	Lower float64 // the bound
	Rho   float64 // ρ̄ at V₀
	T     float64 // the scaling t
	// RelBound is the optimality bound of the factorised (Burer–Monteiro) view:
	// (ρ̄/β − 1)₊, a bound on the relative gap of the point whose gradient gave V₀
	// when its loss and penalty are balanced (docs/math/10-vector-output.md).
	RelBound float64
	Scope    string
	Global   bool
}

// Certify computes the dual bound at the prediction Yh: V₀ = Repair(∇F(Yh)), ρ̄ from
// the oracle, LB = Bound. ok is false when V₀ cannot be made feasible.
func Certify(p *convex.VectorProgram, o Oracle, Yh *mat.Dense) (Certificate, bool) {
	V := convex.VectorLossGrad(p.Loss, Yh, p.Y)
	V0, ok := Repair(p.Loss, p.Y, V, p.OutputBias)
	if !ok {
		return Certificate{Lower: math.NaN(), Scope: o.Scope(), Global: o.Global()}, false
	}
	rho, _ := o.Max(V0, 1, math.Inf(1))
	lb, t := Bound(p.Loss, p.Y, V0, p.Beta, rho)
	return Certificate{Lower: lb, Rho: rho, T: t, RelBound: math.Max(0, rho/p.Beta-1), Scope: o.Scope(), Global: o.Global()}, true
}
