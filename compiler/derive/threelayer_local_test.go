package derive

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// ptNet is the non-convex parallel three-layer network of §8 and §9b, written here
// independently of the convex programs and of compiler/network, for local search:
//
//	f(x) = Σ_k w3_k·(Σ_j ⟨B_kj, φ(x; A_kj)⟩)₊
//
// with unit outputs φ = (x·a)₊ (fc), (1/P)Σ_p (x_p·a)₊ (cnn: pooled patches) or the
// circular convolution φ[t] = Σ_s a[s]·x[(t + s − c) mod d], c = ⌊(d−1)/2⌋ (circ; B_kj
// then has d entries), and the regulariser β·R with R = Σ_k |w3_k|·sqrt(Σ_j ‖A_kj‖²‖B_kj‖²)
// (path) or Σ_k |w3_k|·Σ_j ‖A_kj‖‖B_kj‖ (group). Local search minimises the smooth
// upper bounds ½β(w3² + ½Σ_j(‖A‖⁴ + ‖B‖⁴)) (path) and ½β(w3² + ¼(Σ_j ‖A‖² + ‖B‖²)²)
// (group) per branch, which equal R after rescaling (same infimum), and reports the
// true objective at the point reached.
type ptNet struct {
	kind  string       // "fc", "cnn", "circ"
	pos   []*mat.Dense // fc: [X]; cnn: the P patch matrices; circ: [X]
	y     []float64
	beta  float64
	group bool
	m1    int
}

func (c *ptNet) dims() (n, h, bd int) {
	n, h = c.pos[0].Dims()
	bd = 1
	if c.kind == "circ" {
		bd = h
	}
	return
}

// unit computes φ(x_t; a) into phi, and, when g ≠ nil, adds J_φᵀ·gphi to g.
func (c *ptNet) unit(t int, a, phi, gphi, g []float64) {
	_, h, _ := c.dims()
	switch c.kind {
	case "fc", "cnn":
		P := len(c.pos)
		s := 0.0
		for p := 0; p < P; p++ {
			x := c.pos[p].RawRowView(t)
			z := dot(x, a)
			if z > 0 {
				s += z / float64(P)
				if g != nil {
					axpy(g, gphi[0]/float64(P), x)
				}
			}
		}
		phi[0] = s
	case "circ":
		x := c.pos[0].RawRowView(t)
		sh := (h - 1) / 2
		for q := 0; q < h; q++ {
			v := 0.0
			for s := 0; s < h; s++ {
				v += a[s] * x[((q+s-sh)%h+h)%h]
			}
			phi[q] = v
		}
		if g != nil {
			for q := 0; q < h; q++ {
				for s := 0; s < h; s++ {
					g[s] += gphi[q] * x[((q+s-sh)%h+h)%h]
				}
			}
		}
	}
}

// layout of θ: for each branch k: m1 × A (h), m1 × B (bd), then w3.
func (c *ptNet) size(K int) int {
	_, h, bd := c.dims()
	return K * (c.m1*(h+bd) + 1)
}

// eval returns the surrogate (smooth = true, with its gradient in grad when non-nil)
// or the true objective.
func (c *ptNet) eval(theta []float64, K int, smooth bool, grad []float64) float64 {
	n, h, bd := c.dims()
	per := c.m1*(h+bd) + 1
	A := func(k, j int) []float64 { return theta[k*per+j*h : k*per+(j+1)*h] }
	B := func(k, j int) []float64 { return theta[k*per+c.m1*h+j*bd : k*per+c.m1*h+(j+1)*bd] }
	w3 := func(k int) float64 { return theta[k*per+per-1] }
	phi := make([]float64, bd)
	f := make([]float64, n)
	z := make([]float64, n*K)
	for t := 0; t < n; t++ {
		for k := 0; k < K; k++ {
			s := 0.0
			for j := 0; j < c.m1; j++ {
				c.unit(t, A(k, j), phi, nil, nil)
				s += dot(B(k, j), phi)
			}
			z[t*K+k] = s
			if s > 0 {
				f[t] += w3(k) * s
			}
		}
	}
	obj := 0.0
	r := make([]float64, n)
	for t := range f {
		r[t] = f[t] - c.y[t]
		obj += 0.5 * r[t] * r[t]
	}
	for k := 0; k < K; k++ {
		if smooth {
			q := 0.0
			if c.group {
				s := 0.0
				for j := 0; j < c.m1; j++ {
					s += dot(A(k, j), A(k, j)) + dot(B(k, j), B(k, j))
				}
				q = 0.25 * s * s
			} else {
				for j := 0; j < c.m1; j++ {
					a2, b2 := dot(A(k, j), A(k, j)), dot(B(k, j), B(k, j))
					q += 0.5 * (a2*a2 + b2*b2)
				}
			}
			obj += 0.5 * c.beta * (w3(k)*w3(k) + q)
			continue
		}
		s := 0.0
		for j := 0; j < c.m1; j++ {
			a, b := math.Sqrt(dot(A(k, j), A(k, j))), math.Sqrt(dot(B(k, j), B(k, j)))
			if c.group {
				s += a * b
			} else {
				s += a * a * b * b
			}
		}
		if !c.group {
			s = math.Sqrt(s)
		}
		obj += c.beta * math.Abs(w3(k)) * s
	}
	if grad == nil {
		return obj
	}
	for i := range grad {
		grad[i] = 0
	}
	gphi := make([]float64, bd)
	for t := 0; t < n; t++ {
		for k := 0; k < K; k++ {
			s := z[t*K+k]
			if s <= 0 {
				continue
			}
			grad[k*per+per-1] += r[t] * s
			coef := r[t] * w3(k)
			for j := 0; j < c.m1; j++ {
				c.unit(t, A(k, j), phi, nil, nil)
				gb := grad[k*per+c.m1*h+j*bd : k*per+c.m1*h+(j+1)*bd]
				axpy(gb, coef, phi)
				bkj := B(k, j)
				for i := range gphi {
					gphi[i] = coef * bkj[i]
				}
				c.unit(t, A(k, j), phi, gphi, grad[k*per+j*h:k*per+(j+1)*h])
			}
		}
	}
	for k := 0; k < K; k++ {
		grad[k*per+per-1] += c.beta * w3(k)
		if c.group {
			s := 0.0
			for j := 0; j < c.m1; j++ {
				s += dot(A(k, j), A(k, j)) + dot(B(k, j), B(k, j))
			}
			for j := 0; j < c.m1; j++ {
				axpy(grad[k*per+j*h:k*per+(j+1)*h], 0.5*c.beta*s, A(k, j))
				axpy(grad[k*per+c.m1*h+j*bd:k*per+c.m1*h+(j+1)*bd], 0.5*c.beta*s, B(k, j))
			}
			continue
		}
		for j := 0; j < c.m1; j++ {
			a2, b2 := dot(A(k, j), A(k, j)), dot(B(k, j), B(k, j))
			axpy(grad[k*per+j*h:k*per+(j+1)*h], c.beta*a2, A(k, j))
			axpy(grad[k*per+c.m1*h+j*bd:k*per+c.m1*h+(j+1)*bd], c.beta*b2, B(k, j))
		}
	}
	return obj
}

// localSearch runs starts L-BFGS searches from seeded random points, cycling the
// number of branches through Ks, and returns the true objective reached by each.
func (c *ptNet) localSearch(Ks []int, starts int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 17))
	var out []float64
	for s := 0; s < starts; s++ {
		K := Ks[s%len(Ks)]
		dim := c.size(K)
		prob := optimize.Problem{
			Func: func(x []float64) float64 { return c.eval(x, K, true, nil) },
			Grad: func(g, x []float64) { c.eval(x, K, true, g) },
		}
		x0 := make([]float64, dim)
		sc := []float64{0.3, 1}[s%2]
		for i := range x0 {
			x0[i] = sc * rng.NormFloat64()
		}
		res, _ := optimize.Minimize(prob, x0, &optimize.Settings{GradientThreshold: 1e-10, MajorIterations: 3000, FuncEvaluations: 8000}, &optimize.LBFGS{})
		x := x0
		if res != nil {
			x = res.X
		}
		out = append(out, c.eval(x, K, false, nil))
	}
	return out
}

// ptNetOf builds the local-search network of a derived three-layer input.
func ptNetOf(in *Input, prog *convex.Program) *ptNet {
	c := &ptNet{y: prog.Y, beta: prog.Beta, group: in.Train.Regularizer == ir.Group}
	ls := in.Model.Layers
	switch {
	case ls[1].Kind == ir.CircConv:
		c.kind, c.m1 = "circ", 1
		c.pos = []*mat.Dense{mat.DenseCopyOf(in.Data.X)}
	default:
		td, _ := prepareThree(in)
		c.kind, c.m1, c.pos = "fc", td.pp.M1, td.pp.Pos
		if td.a.cnn {
			c.kind = "cnn"
		}
	}
	return c
}

// thetaOf reads the weights of a recovered network (weights.json layout) into ptNet's
// parameter vector, so that the two forward passes can be compared.
func (c *ptNet) thetaOf(w *network.Weights, in *Input) ([]float64, int) {
	ls := in.Model.Layers
	first := ls[1]
	var second, out *ir.Layer
	for _, l := range ls[2:] {
		if l.Kind == ir.Linear && l.Branches != 0 {
			second = l
		}
		if l.Kind == ir.Linear && l.Branches == 0 {
			out = l
		}
	}
	K := w.Layers[first.Index].Branches
	_, h, bd := c.dims()
	W1 := w.Tensor(fmt.Sprintf("L%d.weight", first.Index)).Data
	var b1 []float64
	if t := w.Tensor(fmt.Sprintf("L%d.bias", first.Index)); t != nil {
		b1 = t.Data
	}
	W2 := w.Tensor(fmt.Sprintf("L%d.weight", second.Index)).Data
	W3 := w.Tensor(fmt.Sprintf("L%d.weight", out.Index)).Data
	hw := h
	if b1 != nil {
		hw--
	}
	in2 := K * c.m1 * bd
	var th []float64
	for k := 0; k < K; k++ {
		for j := 0; j < c.m1; j++ {
			u := k*c.m1 + j
			th = append(th, W1[u*hw:(u+1)*hw]...)
			if b1 != nil {
				th = append(th, b1[u])
			}
		}
		for j := 0; j < c.m1; j++ {
			u := k*c.m1 + j
			th = append(th, W2[k*in2+u*bd:k*in2+(u+1)*bd]...)
		}
		th = append(th, W3[k])
	}
	return th, K
}
