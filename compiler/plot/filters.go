package plot

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/cnnc-org/cnnc/compiler/network"
)

// Filters are the learned filters of a network's first conv or circconv layer.
type Filters struct {
	Layer   int    // index of the layer in weights.json
	Type    string // "conv" or "circconv"
	Shape   []int  // the weight tensor's shape: [out, in, K] or [out, in, Kh, Kw]
	Out     int    // filters (output channels) in the tensor
	Active  []int  // the filters with a nonzero weight, in order
	Weights []float64
}

// TwoD reports whether the filters are 2-D (drawn as images; 1-D ones as curves).
func (f *Filters) TwoD() bool { return len(f.Shape) == 4 }

// Kernel returns filter o, input channel c as rows (one row for 1-D filters).
func (f *Filters) Kernel(o, c int) [][]float64 {
	kh, kw := 1, f.Shape[len(f.Shape)-1]
	if f.TwoD() {
		kh = f.Shape[2]
	}
	in := f.Shape[1]
	base := (o*in + c) * kh * kw
	rows := make([][]float64, kh)
	for a := range rows {
		rows[a] = f.Weights[base+a*kw : base+(a+1)*kw]
	}
	return rows
}

// Norm is the Euclidean norm of filter o (all its input channels).
func (f *Filters) Norm(o int) float64 {
	per := len(f.Weights) / max(1, f.Out)
	s := 0.0
	for _, v := range f.Weights[o*per : (o+1)*per] {
		s += v * v
	}
	return math.Sqrt(s)
}

// Largest returns the active filters by decreasing norm (ties: by index), the
// order of the panels.
func (f *Filters) Largest() []int {
	out := append([]int(nil), f.Active...)
	sort.SliceStable(out, func(a, b int) bool { return f.Norm(out[a]) > f.Norm(out[b]) })
	return out
}

// ConvFilters finds the first conv or circconv layer of w; nil when there is none.
func ConvFilters(w *network.Weights) *Filters {
	for _, l := range w.Layers {
		if l.Type != "conv" && l.Type != "circconv" {
			continue
		}
		t := w.Tensor(fmt.Sprintf("L%d.weight", l.Index))
		if t == nil || (len(t.Shape) != 3 && len(t.Shape) != 4) {
			return nil
		}
		f := &Filters{Layer: l.Index, Type: l.Type, Shape: t.Shape, Out: t.Shape[0], Weights: t.Data}
		per := len(t.Data) / max(1, t.Shape[0])
		for o := 0; o < t.Shape[0]; o++ {
			for _, v := range t.Data[o*per : (o+1)*per] {
				if v != 0 {
					f.Active = append(f.Active, o)
					break
				}
			}
		}
		return f
	}
	return nil
}

// FiltersSVG draws the active filters of the first conv or circconv layer, one panel
// per filter, largest norm first (at most MaxPanels): 2-D filters as images on a diverging scale
// symmetric about 0 (blue negative, red positive, each panel scaled to its own largest
// |weight|, input channels side by side), 1-D filters as curves of weight against tap
// (one curve per input channel). ok is false when the network has no such layer.
func FiltersSVG(w *network.Weights) (svg []byte, ok bool, err error) {
	f := ConvFilters(w)
	if f == nil {
		return nil, false, nil
	}
	act := f.Largest()
	title := fmt.Sprintf("%s: learned %s filters of layer %d (%d active of %d)", w.Model, f.Type, f.Layer, len(act), f.Out)
	if len(act) > MaxPanels {
		act = act[:MaxPanels]
		title = fmt.Sprintf("%s: the %d largest (by ‖w‖) of %d active %s filters of layer %d", w.Model, MaxPanels, len(f.Active), f.Type, f.Layer)
	}
	var plots []*plot.Plot
	in := f.Shape[1]
	for _, o := range act {
		p := plot.New()
		small(p)
		p.Title.Text = fmt.Sprintf("filter %d", o)
		if f.TwoD() {
			g := newImageGrid(f, o)
			pal := moreland.SmoothBlueRed()
			pal.SetMin(-g.max)
			pal.SetMax(g.max)
			h := plotter.NewHeatMap(g, pal.Palette(255))
			h.Min, h.Max = -g.max, g.max
			p.Add(h)
			p.HideAxes()
			p.Title.Text += fmt.Sprintf(" (max |w| %s)", sci(g.max))
		} else {
			p.X.Label.Text = "tap"
			for c := 0; c < in; c++ {
				k := f.Kernel(o, c)[0]
				pts := make(plotter.XYs, len(k))
				for s, v := range k {
					pts[s] = plotter.XY{X: float64(s), Y: v}
				}
				l, sc, err := line(pts, channelColors[c%len(channelColors)], 1.2)
				if err != nil {
					return nil, false, err
				}
				p.Add(l, sc)
			}
			p.Add(plotter.NewGrid())
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		plots = append(plots, emptyPlot("no active filter (every weight is 0)"))
	}
	cols := gridCols(len(plots))
	pw, ph := vg.Points(150), vg.Points(130)
	if f.TwoD() {
		pw, ph = vg.Points(110), vg.Points(120)
	}
	b, err := svgBytes(title, plots, cols, pw, ph)
	return b, err == nil, err
}

// imageGrid is one 2-D filter (its input channels side by side, one blank column
// between them) as a plotter.GridXYZ: column c, row r from the bottom.
type imageGrid struct {
	cells [][]float64 // [row from the top][column]
	max   float64
}

func newImageGrid(f *Filters, o int) *imageGrid {
	g := &imageGrid{}
	in := f.Shape[1]
	kh, kw := f.Shape[2], f.Shape[3]
	g.cells = make([][]float64, kh)
	for a := range g.cells {
		for c := 0; c < in; c++ {
			if c > 0 {
				g.cells[a] = append(g.cells[a], math.NaN())
			}
			g.cells[a] = append(g.cells[a], f.Kernel(o, c)[a]...)
		}
	}
	_ = kw
	for _, row := range g.cells {
		for _, v := range row {
			if !math.IsNaN(v) {
				g.max = math.Max(g.max, math.Abs(v))
			}
		}
	}
	if g.max == 0 {
		g.max = 1
	}
	return g
}

func (g *imageGrid) Dims() (c, r int)   { return len(g.cells[0]), len(g.cells) }
func (g *imageGrid) Z(c, r int) float64 { return g.cells[len(g.cells)-1-r][c] }
func (g *imageGrid) X(c int) float64    { return float64(c) }
func (g *imageGrid) Y(r int) float64    { return float64(r) }

func emptyPlot(msg string) *plot.Plot {
	p := plot.New()
	small(p)
	p.Title.Text = msg
	return p
}
