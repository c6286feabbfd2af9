package certify

import (
	"fmt"
	"math"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// LossKind names one of cnnc's losses.
type LossKind int

const (
	// Squared is ½Σᵢ(ŷᵢ − yᵢ)².
	Squared LossKind = iota
	// Hinge is Σᵢ max(0, 1 − yᵢŷᵢ).
	Hinge
	// Logistic is Σᵢ log(1 + e^{−yᵢŷᵢ}).
	Logistic
)

func (k LossKind) String() string {
	switch k {
	case Hinge:
		return "hinge"
	case Logistic:
		return "logistic"
	}
	return "squared"
}

// Loss is a separable convex loss on cnnc's scale (summed over samples, never divided
// by n): ℓ(ŷ) = Σᵢ ℓᵢ(ŷᵢ) with labels Y. Its conjugate gives the dual objective of
// every template program (package doc, "Losses and their conjugates"):
//
//	D(λ) = −ℓ*(−λ) = min_z ℓ(z) + λᵀz = Σᵢ Dᵢ(λᵢ),
//
//	squared   Dᵢ(λ) = λyᵢ − ½λ²                  every λ ∈ R
//	hinge     Dᵢ(λ) = aᵢ,           aᵢ = λ/yᵢ     aᵢ ∈ [0, 1]
//	logistic  Dᵢ(λ) = H(aᵢ),        aᵢ = λ/yᵢ     aᵢ ∈ [0, 1], H(a) = −a log a − (1−a) log(1−a)
//
// (for yᵢ = 0 the hinge and logistic terms are the constants 1 and log 2, and only
// λᵢ = 0 is in the domain). The methods below evaluate ℓ, its derivatives, D, the
// domain of λ, the best scaling of a dual point and the centring that the output
// bias's dual constraint 1ᵀλ = 0 needs.
type Loss struct {
	Kind LossKind
	Y    []float64
}

// NewLoss returns the loss named name ("squared" or "", "hinge", "logistic") with
// labels y (hinge and logistic labels are ±1 in cnnc; any real label is handled).
func NewLoss(name string, y []float64) (Loss, error) {
	switch name {
	case "", "squared":
		return Loss{Squared, y}, nil
	case "hinge":
		return Loss{Hinge, y}, nil
	case "logistic":
		return Loss{Logistic, y}, nil
	}
	return Loss{}, fmt.Errorf("certify: unknown loss %q (want squared, hinge or logistic)", name)
}

// ProgramLoss is NewLoss(p.Loss, p.Y).
func ProgramLoss(p *convex.Program) (Loss, error) { return NewLoss(p.Loss, p.Y) }

// Value is ℓ(ŷ). Logistic terms are evaluated without overflow: log(1 + e^{−t}) =
// max(−t, 0) + log1p(e^{−|t|}).
func (l Loss) Value(yhat []float64) float64 {
	s := 0.0
	for i, y := range l.Y {
		s += l.term(y, yhat[i])
	}
	return s
}

func (l Loss) term(y, z float64) float64 {
	switch l.Kind {
	case Hinge:
		return math.Max(0, 1-y*z)
	case Logistic:
		return softplus(-y * z)
	}
	d := z - y
	return 0.5 * d * d
}

// softplus is log(1 + eᵗ) without overflow or cancellation.
func softplus(t float64) float64 {
	if t > 0 {
		return t + math.Log1p(math.Exp(-t))
	}
	return math.Log1p(math.Exp(t))
}

// sigmoid is 1/(1 + e^{−t}) without overflow.
func sigmoid(t float64) float64 {
	if t >= 0 {
		return 1 / (1 + math.Exp(-t))
	}
	e := math.Exp(t)
	return e / (1 + e)
}

// Residual is the dual point of a prediction, λ = −∇ℓ(ŷ): squared y − ŷ; logistic
// yᵢσ(−yᵢŷᵢ); hinge yᵢ·1[yᵢŷᵢ ≤ 1] (a subgradient: at yᵢŷᵢ = 1 any aᵢ ∈ [0, 1] is
// one, and only a solver's dual point knows the right one; taking 1 there keeps the
// samples on the margin in the certificate, e.g. at the best constant predictor).
func (l Loss) Residual(yhat []float64) []float64 {
	v := make([]float64, len(l.Y))
	for i, y := range l.Y {
		switch l.Kind {
		case Hinge:
			if y*yhat[i] <= 1 {
				v[i] = y
			}
		case Logistic:
			v[i] = y * sigmoid(-y*yhat[i])
		default:
			v[i] = y - yhat[i]
		}
	}
	return v
}

// Curvature sets h to the second derivatives ℓᵢ″(ŷᵢ): 1 (squared), yᵢ²σ(yᵢŷᵢ)σ(−yᵢŷᵢ)
// (logistic), 0 (hinge, piecewise linear).
func (l Loss) Curvature(yhat, h []float64) {
	for i, y := range l.Y {
		switch l.Kind {
		case Hinge:
			h[i] = 0
		case Logistic:
			t := y * yhat[i]
			h[i] = y * y * sigmoid(t) * sigmoid(-t)
		default:
			h[i] = 1
		}
	}
}

// Interval is the domain of λᵢ: the interval where ℓᵢ*(−λᵢ) is finite (squared: all
// of R; hinge, logistic: between 0 and yᵢ).
func (l Loss) Interval(i int) (lo, hi float64) {
	if l.Kind == Squared {
		return math.Inf(-1), math.Inf(1)
	}
	y := l.Y[i]
	return math.Min(0, y), math.Max(0, y)
}

// Clip projects λ onto the domain box (in place).
func (l Loss) Clip(lam []float64) {
	if l.Kind == Squared {
		return
	}
	for i := range lam {
		lo, hi := l.Interval(i)
		lam[i] = math.Min(hi, math.Max(lo, lam[i]))
	}
}

// Center makes 1ᵀλ = 0 (the dual constraint of an unpenalised output bias) without
// leaving the domain, in place. Squared loss: subtract the mean (the orthogonal
// projection). Hinge and logistic: with s = 1ᵀλ > 0, the positive entries are scaled
// by 1 − s/Σ₊λ (and symmetrically for s < 0); scaling towards 0 stays in the box
// [min(0, yᵢ), max(0, yᵢ)], and it changes only the class on the heavy side. After
// rounding, 1ᵀλ is zero up to a few ulps of ‖λ‖₁; SafeBound accounts for the rest.
func (l Loss) Center(lam []float64) {
	if len(lam) == 0 {
		return
	}
	if l.Kind == Squared {
		m := 0.0
		for _, v := range lam {
			m += v
		}
		m /= float64(len(lam))
		for i := range lam {
			lam[i] -= m
		}
		return
	}
	s, pos, neg := 0.0, 0.0, 0.0
	for _, v := range lam {
		s += v
		if v > 0 {
			pos += v
		} else {
			neg -= v
		}
	}
	switch {
	case s > 0 && pos > 0:
		f := 1 - s/pos
		for i, v := range lam {
			if v > 0 {
				lam[i] = v * f
			}
		}
	case s < 0 && neg > 0:
		f := 1 + s/neg
		for i, v := range lam {
			if v < 0 {
				lam[i] = v * f
			}
		}
	}
}

// Dual is D(λ) = −ℓ*(−λ) = Σᵢ Dᵢ(λᵢ) (type doc); −Inf when λ is outside the domain.
func (l Loss) Dual(lam []float64) float64 {
	v, _ := l.DualScaled(lam, 1)
	return v
}

// DualScaled returns D(θλ), evaluated without forming θλ outside the terms, and an
// upper bound on the rounding error of that evaluation (package doc, "Bounds that hold
// in floating point"). −Inf when θλ is outside the domain.
func (l Loss) DualScaled(lam []float64, theta float64) (val, margin float64) {
	n := len(l.Y)
	abs := 0.0   // Σ |terms| (for the relative summation error)
	fnErr := 0.0 // absolute errors of the elementary functions
	for i, y := range l.Y {
		switch l.Kind {
		case Squared:
			a := theta * lam[i]
			t := a*y - 0.5*a*a
			val += t
			abs += math.Abs(a*y) + 0.5*a*a
		case Hinge, Logistic:
			if y == 0 {
				if lam[i] != 0 {
					return math.Inf(-1), 0
				}
				if l.Kind == Hinge {
					val++
					abs++
				} else {
					val += math.Ln2
					abs += math.Ln2
				}
				continue
			}
			a := theta * lam[i] / y
			if a < 0 || a > 1 || math.IsNaN(a) {
				return math.Inf(-1), 0
			}
			if l.Kind == Hinge {
				val += a
				abs += a
				continue
			}
			h, e := entropy(a)
			val += h
			abs += h
			fnErr += e
		}
	}
	// each term carries ≤ 6 roundings of its own (a's two, the products, the ½) and
	// the sum ≤ n more: |error| ≤ γ_{n+6}·Σ|terms| + the functions' absolute errors.
	margin = gamma(n+6)*abs + fnErr
	return val, margin
}

// entropy returns H(a) = −a log a − (1−a) log(1−a) for a ∈ [0, 1] and a bound on the
// absolute error of its floating-point evaluation, including the effect of a itself
// being rounded (relative error ≤ 2u from θλᵢ/yᵢ). Assumes math.Log and math.Log1p
// err by at most 2 ulps (Go documents ≤ 1 ulp for Log): each of the two products then
// has relative error ≤ 4u, and the derivative terms |a(1 + log a)| ≤ 1 + a|log a| and
// |a(1 + log(1−a))| ≤ 1 + a|log(1−a)| times 2u cover the rounding of a.
func entropy(a float64) (float64, float64) {
	if a == 0 || a == 1 {
		return 0, 0
	}
	la := math.Log(a)
	lb := math.Log1p(-a)
	h := -a*la - (1-a)*lb
	e := 8*unit*h + 2*unit*(2+a*math.Abs(la)+a*math.Abs(lb)) + 4*unit
	return h, e
}

// BestScale returns θ ∈ [0, θmax] maximising D(θλ), with θmax also capped so that θλ
// stays in the domain: squared θ = clamp(λᵀy/‖λ‖², 0, θmax); hinge θmax (D is linear
// and nonnegative in θ); logistic: D(θλ) = Σ H(θaᵢ) is concave with
// d/dθ = Σ aᵢ log((1 − θaᵢ)/(θaᵢ)), +∞ at 0, so θmax if the derivative is ≥ 0 there,
// else its root by bisection (60 halvings).
func (l Loss) BestScale(lam []float64, thetaMax float64) float64 {
	if !(thetaMax > 0) {
		return 0
	}
	if l.Kind != Squared {
		amax := 0.0
		for i, y := range l.Y {
			if y != 0 {
				amax = math.Max(amax, lam[i]/y)
			}
		}
		if amax > 0 {
			thetaMax = math.Min(thetaMax, 1/amax)
		}
	}
	switch l.Kind {
	case Squared:
		ly, ll := 0.0, 0.0
		for i, y := range l.Y {
			ly += lam[i] * y
			ll += lam[i] * lam[i]
		}
		if ll == 0 {
			return thetaMax
		}
		return math.Max(0, math.Min(thetaMax, ly/ll))
	case Hinge:
		return thetaMax
	}
	deriv := func(th float64) float64 {
		d := 0.0
		for i, y := range l.Y {
			if y == 0 {
				continue
			}
			a := lam[i] / y
			if a <= 0 {
				continue
			}
			ta := th * a
			if ta >= 1 {
				return math.Inf(-1)
			}
			d += a * (math.Log1p(-ta) - math.Log(ta))
		}
		return d
	}
	if deriv(thetaMax) >= 0 {
		return thetaMax
	}
	lo, hi := 0.0, thetaMax
	for k := 0; k < 60; k++ {
		mid := 0.5 * (lo + hi)
		if deriv(mid) >= 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// UpperValue is an upper bound on the optimum of every template program that needs no
// solve: the objective of the zero network without bias, ℓ(0) (squared ½‖y‖², hinge
// Σ max(0, 1) = n for nonzero labels, logistic n·log 2), enlarged by 1e-12 relative
// for its rounding.
func (l Loss) UpperValue() float64 {
	return l.Value(make([]float64, len(l.Y))) * (1 + 1e-12)
}
