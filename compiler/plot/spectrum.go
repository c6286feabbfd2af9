package plot

import (
	"fmt"
	"image/color"
	"math"
	"math/cmplx"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/cnnc-org/cnnc/compiler/network"
)

// Spectra are the effective filters of a circular network and their Fourier
// magnitudes.
//
// A circconv layer on a one-channel signal of length d, with weights W_j (kernel K ≤ d,
// left = ⌊(K−1)/2⌋), computes y_j[t] = Σ_{s<K} W_j[s]·x[(t+s−left) mod d]
// (weights.json's convention, PyTorch's padding='same', padding_mode='circular'). A
// linear unit reading y_j through weights b (the block of the next linear layer's row
// that reads channel j) then computes Σ_t b[t]·y_j[t] = Σ_q u_j[q]·x[q] with the
// effective filter
//
//	u_j[q] = Σ_t b[t]·W̄_j[(q − t + left) mod d],   W̄_j = W_j padded with zeros to length d,
//
// summed over the units of the next layer. For the linear circular CNN (§7.3,
// docs/math/07-linear-cnn.md) the network is x ↦ Σ_q G[q]·x[q] with G = Σ_j u_j, whose
// spectrum is what the convex program's ℓ1 penalty makes sparse; for the three-layer
// circular CNN (§8, docs/math/08-circular3.md) branch k is (u_k·x)₊ scaled by its output
// weight, and ‖F u_k‖₁ is its cost. The magnitudes |F u| use the unitary DFT,
// (F u)_κ = Σ_q u[q]·e^{−2πiκq/d}/√d, over κ = 0 … ⌊d/2⌋ (u is real, so
// |(F u)_{d−κ}| = |(F u)_κ|). They do not depend on the circular convention: a flip or
// a cyclic shift of u changes only the phases.
type Spectra struct {
	Layer  int         // the circconv layer
	D      int         // signal length
	Units  []int       // the circconv channels with a nonzero effective filter
	Filter [][]float64 // the effective filter u_j of each unit
	Mag    [][]float64 // |F u_j| at κ = 0 … ⌊d/2⌋
	Output []float64   // the output weight of each unit's branch (three-layer; else nil)
	Total  []float64   // |F G|, G = Σ_j u_j (linear networks: the network's own filter; else nil)
}

// CircSpectra computes the effective filters of the first circconv layer of w when
// the network is one-channel 1-D circconv [· flatten] · linear …; nil otherwise (the
// reason in why).
func CircSpectra(w *network.Weights) (s *Spectra, why string) {
	li := -1
	for i, l := range w.Layers {
		if l.Type == "circconv" {
			li = i
			break
		}
	}
	if li < 0 {
		return nil, "the network has no circconv layer"
	}
	cl := w.Layers[li]
	if li == 0 || w.Layers[li-1].Type != "input" || len(w.Layers[0].Shape) != 2 || w.Layers[0].Shape[0] != 1 {
		return nil, "the spectrum is drawn for a circconv layer reading a one-channel 1-D input signal"
	}
	d := w.Layers[0].Shape[1]
	W := w.Tensor(fmt.Sprintf("L%d.weight", cl.Index))
	if W == nil || len(W.Shape) != 3 || W.Shape[1] != 1 {
		return nil, "the circconv weight is not [out, 1, K]"
	}
	m, K := W.Shape[0], W.Shape[2]
	if K > d {
		return nil, "the circconv kernel is longer than the signal"
	}
	next := li + 1
	if next < len(w.Layers) && w.Layers[next].Type == "flatten" {
		next++
	}
	if next >= len(w.Layers) || w.Layers[next].Type != "linear" {
		return nil, "the circconv layer is not followed by a linear layer (the effective filter is defined through it)"
	}
	B := w.Tensor(fmt.Sprintf("L%d.weight", w.Layers[next].Index))
	if B == nil || len(B.Shape) != 2 || B.Shape[1] != m*d {
		return nil, "the linear layer after circconv does not read its m·d outputs"
	}
	left := (K - 1) / 2
	s = &Spectra{Layer: cl.Index, D: d}
	G := make([]float64, d)
	for j := 0; j < m; j++ {
		b := make([]float64, d) // Σ over the units o of row o's block j
		for o := 0; o < B.Shape[0]; o++ {
			for t := 0; t < d; t++ {
				b[t] += B.Data[o*m*d+j*d+t]
			}
		}
		u := make([]float64, d)
		nz := false
		for q := 0; q < d; q++ {
			for t := 0; t < d; t++ {
				if r := ((q-t+left)%d + d) % d; r < K {
					u[q] += b[t] * W.Data[j*K+r]
				}
			}
			nz = nz || u[q] != 0
		}
		for q := range G {
			G[q] += u[q]
		}
		if !nz {
			continue
		}
		s.Units = append(s.Units, j)
		s.Filter = append(s.Filter, u)
		s.Mag = append(s.Mag, HalfSpectrum(u))
	}
	// Three-layer branches: linear (one unit per branch) · relu · linear 1.
	if n2 := next + 2; n2 < len(w.Layers) && w.Layers[next+1].Type == "relu" && w.Layers[n2].Type == "linear" && w.Layers[next].Out == m {
		if O := w.Tensor(fmt.Sprintf("L%d.weight", w.Layers[n2].Index)); O != nil && len(O.Shape) == 2 && O.Shape[0] == 1 && O.Shape[1] == m {
			for _, j := range s.Units {
				s.Output = append(s.Output, O.Data[j])
			}
		}
	}
	linear := true
	for _, l := range w.Layers[next:] {
		if l.Type != "linear" && l.Type != "flatten" {
			linear = false
		}
	}
	if linear && w.Layers[next].Out == 1 {
		s.Total = HalfSpectrum(G)
	}
	return s, ""
}

// HalfSpectrum returns |(F u)_κ| for κ = 0 … ⌊d/2⌋ with the unitary DFT.
func HalfSpectrum(u []float64) []float64 {
	d := len(u)
	out := make([]float64, d/2+1)
	for k := range out {
		var z complex128
		for q, v := range u {
			z += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*q%d)/float64(d)))
		}
		out[k] = cmplx.Abs(z) / math.Sqrt(float64(d))
	}
	return out
}

// SpectrumSVG draws |F u| over frequencies 0 … ⌊d/2⌋ for each unit's effective filter
// (one panel each, the first MaxPanels) and, for linear networks, of the network's
// whole filter G (the first panel). ok is false (with the reason) when the network is
// not a one-channel 1-D circular one.
func SpectrumSVG(w *network.Weights) (svg []byte, ok bool, why string, err error) {
	s, why := CircSpectra(w)
	if s == nil {
		return nil, false, why, nil
	}
	var plots []*plot.Plot
	panel := func(title string, mag []float64, col color.Color) error {
		p := plot.New()
		small(p)
		p.Title.Text = title
		p.X.Label.Text = "frequency κ"
		p.Y.Label.Text = "|F u|"
		p.Y.Min = 0
		pts := make(plotter.XYs, len(mag))
		for k, v := range mag {
			pts[k] = plotter.XY{X: float64(k), Y: v}
		}
		l, sc, err := line(pts, col, 1.4)
		if err != nil {
			return err
		}
		p.Add(plotter.NewGrid(), l, sc)
		plots = append(plots, p)
		return nil
	}
	if s.Total != nil {
		if err := panel("whole network: |F G|, G = Σⱼ uⱼ", s.Total, ColorTotal); err != nil {
			return nil, false, "", err
		}
	}
	n := len(s.Units)
	title := fmt.Sprintf("%s: Fourier magnitudes of the effective filters of circconv layer %d (d = %d, unitary DFT; %d active units)", w.Model, s.Layer, s.D, n)
	if n > MaxPanels {
		n = MaxPanels
		title += fmt.Sprintf(", the first %d drawn", MaxPanels)
	}
	for i := 0; i < n; i++ {
		t := fmt.Sprintf("filter %d", s.Units[i])
		if s.Output != nil {
			t = fmt.Sprintf("branch %d, output weight %+.3g", s.Units[i], s.Output[i])
		}
		if err := panel(t, s.Mag[i], ColorSpectrum); err != nil {
			return nil, false, "", err
		}
	}
	if len(plots) == 0 {
		plots = append(plots, emptyPlot("no active unit (every effective filter is 0)"))
	}
	b, err := svgBytes(title, plots, gridCols(len(plots)), vg.Points(170), vg.Points(140))
	return b, err == nil, "", err
}
