package network_test

import (
	"fmt"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// mk builds a model: an input of shape in, then the layers (indices filled in).
func mk(name string, in ir.Shape, layers ...*ir.Layer) *ir.Model {
	m := &ir.Model{Name: name, Layers: []*ir.Layer{{Kind: ir.Input, Out: in}}}
	for i, l := range layers {
		l.Index = i + 1
		m.Layers = append(m.Layers, l)
	}
	return m
}

func fptr(v float64) *float64 { return &v }

// fill sets random N(0,1)·scale tensors on every parameterised layer of m (auto widths
// from widths[k], default 3). The shapes are recomputed here from the layer
// definitions (conv: ⌊(L+2P−K)/S⌋+1, pools: ⌊(L−K)/S⌋+1) independently of the package.
func fill(t testing.TB, m *ir.Model, w *network.Weights, rng *rand.Rand, widths map[int]int) {
	t.Helper()
	shape := append([]int(nil), m.Input()...)
	var prevW []int
	prevBias := false
	randT := func(name string, s []int, pen string) {
		n := 1
		for _, v := range s {
			n *= v
		}
		d := make([]float64, n)
		for i := range d {
			d[i] = rng.NormFloat64()
		}
		w.Set(name, s, d, pen)
	}
	par := func(v []int, i, def int) int {
		switch len(v) {
		case 0:
			return def
		case 1:
			return v[0]
		}
		return v[i]
	}
	run := 0 // branches of the current run of branched layers (0: none)
	for k := 1; k < len(m.Layers); k++ {
		l := m.Layers[k]
		width := l.Width
		if width == ir.Auto {
			width = widths[k]
			if width == 0 {
				width = 3
			}
		}
		K := 0
		if l.Branches != 0 {
			K = l.Branches
			if K == ir.AutoBranches {
				K = 3
			}
			w.Layers[k].Branches = K
			width *= K // per-branch width → the layer's total
		}
		switch l.Kind {
		case ir.Conv, ir.CircConv:
			sp := shape[1:]
			ws := []int{width, shape[0]}
			next := []int{width}
			for i, L := range sp {
				K := par(l.Kernel, i, L)
				ws = append(ws, K)
				if l.Kind == ir.Conv {
					S, P := par(l.Stride, i, 1), par(l.Padding, i, 0)
					next = append(next, (L+2*P-K)/S+1)
				} else {
					next = append(next, L)
				}
			}
			randT(fmt.Sprintf("L%d.weight", k), ws, "")
			prevW, shape = ws, next
		case ir.Linear:
			in := 1
			for _, v := range shape {
				in *= v
			}
			ws := []int{width, in}
			if l.Fixed == nil {
				randT(fmt.Sprintf("L%d.weight", k), ws, "")
			}
			if K > 0 && run == K { // continues parallel branches: block-diagonal
				d := w.Tensor(fmt.Sprintf("L%d.weight", k)).Data
				for o := 0; o < width; o++ {
					for c := 0; c < in; c++ {
						if o/(width/K) != c/(in/K) {
							d[o*in+c] = 0
						}
					}
				}
			}
			prevW, shape = ws, []int{width}
		case ir.Gated:
			randT(fmt.Sprintf("L%d.gates", k), prevW, "")
			if prevBias {
				randT(fmt.Sprintf("L%d.gate_bias", k), []int{prevW[0]}, "")
			}
		case ir.AvgPool, ir.MaxPool:
			if l.Global {
				shape = shape[:1]
				break
			}
			next := []int{shape[0]}
			for i, L := range shape[1:] {
				K := par(l.Kernel, i, 0)
				S := par(l.Stride, i, K)
				next = append(next, (L-K)/S+1)
			}
			shape = next
		case ir.Flatten:
			n := 1
			for _, v := range shape {
				n *= v
			}
			shape = []int{n}
		}
		switch {
		case K > 0:
			run = K
		case l.Kind == ir.Conv || l.Kind == ir.CircConv || l.Kind == ir.Linear:
			run = 0
		}
		prevBias = false
		if l.Bias {
			randT(fmt.Sprintf("L%d.bias", k), []int{shape[0]}, "")
			prevBias = true
		}
	}
}

func randDense(rng *rand.Rand, r, c int) *mat.Dense {
	d := make([]float64, r*c)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	return mat.NewDense(r, c, d)
}

// signs is an r × 1 matrix of random ±1 targets.
func signs(rng *rand.Rand, r int) *mat.Dense {
	d := make([]float64, r)
	for i := range d {
		d[i] = float64(2*rng.Intn(2) - 1)
	}
	return mat.NewDense(r, 1, d)
}

// near reports |a−b| ≤ tol·max(1, |b|).
func near(a, b, tol float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	s := b
	if s < 0 {
		s = -s
	}
	if s < 1 {
		s = 1
	}
	return d <= tol*s
}
