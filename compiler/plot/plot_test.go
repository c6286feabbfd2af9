package plot_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/color"
	"math"
	"math/cmplx"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot/palette/moreland"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/plot"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// svgDoc is what the tests read back from a figure: its paths (data, fill and stroke
// colours) and its texts, in document order.
type svgDoc struct {
	paths []svgPath
	texts []string
}

type svgPath struct {
	d, fill, stroke string
}

func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	var doc svgDoc
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("the SVG does not parse: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "path":
			var p svgPath
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "d":
					p.d = a.Value
				case "style":
					for _, kv := range strings.Split(a.Value, ";") {
						k, v, _ := strings.Cut(kv, ":")
						switch k {
						case "fill":
							p.fill = strings.ToUpper(v)
						case "stroke":
							p.stroke = strings.ToUpper(v)
						}
					}
				}
			}
			doc.paths = append(doc.paths, p)
		case "text":
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			doc.texts = append(doc.texts, s)
		}
	}
	return doc
}

func hex(c color.Color) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02X%02X%02X", r>>8, g>>8, b>>8)
}

// near: two #RRGGBB colours within 1 per channel (8-bit rounding of 16-bit colours).
func near(a, b string) bool {
	if len(a) != 7 || len(b) != 7 {
		return false
	}
	for i := 1; i < 7; i += 2 {
		x, _ := strconv.ParseUint(a[i:i+2], 16, 8)
		y, _ := strconv.ParseUint(b[i:i+2], 16, 8)
		if d := int(x) - int(y); d > 1 || d < -1 {
			return false
		}
	}
	return true
}

// stroked returns the paths stroked in colour c (the data lines of one series).
func (d svgDoc) stroked(c color.Color) []svgPath {
	var out []svgPath
	for _, p := range d.paths {
		if p.stroke == hex(c) && (p.fill == "NONE" || p.fill == "") {
			out = append(out, p)
		}
	}
	return out
}

// points parses a path of M and L commands.
func points(t *testing.T, d string) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, seg := range strings.FieldsFunc(d, func(r rune) bool { return r == 'M' || r == 'L' }) {
		x, y, ok := strings.Cut(seg, ",")
		if !ok {
			t.Fatalf("path %q: not M/L commands", d)
		}
		fx, err1 := strconv.ParseFloat(x, 64)
		fy, err2 := strconv.ParseFloat(y, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("path %q: bad point %q", d, seg)
		}
		out = append(out, [2]float64{fx, fy})
	}
	return out
}

// affineFit fits c = a + b·v by least squares and returns the largest residual and
// b; a figure draws v faithfully when its coordinates are an affine map of v (the
// axis transform) up to the SVG's 5 significant digits.
func affineFit(v, c []float64) (maxRes, slope float64) {
	n := float64(len(v))
	var sv, sc, svv, svc float64
	for i := range v {
		sv += v[i]
		sc += c[i]
		svv += v[i] * v[i]
		svc += v[i] * c[i]
	}
	den := n*svv - sv*sv
	b := 0.0
	if den != 0 {
		b = (n*svc - sv*sc) / den
	}
	a := (sc - b*sv) / n
	for i := range v {
		maxRes = math.Max(maxRes, math.Abs(a+b*v[i]-c[i]))
	}
	return maxRes, b
}

// model parses a .cnn model (no data is read).
func model(t *testing.T, src string) *ir.Model {
	t.Helper()
	p, err := cnnc.Parse("t.cnn", []byte(src+"\ndata train {\n    synthetic planted n=4\n}\n"), cnnc.Options{SkipData: true})
	if err != nil {
		t.Fatal(err)
	}
	return p.Model
}

// TestFiltersSVG: 2-D conv filters. One panel per active filter (zero filters are
// left out), largest norm first, and every cell of every panel has the colour of its
// weight on the panel's symmetric scale — which checks the layout (rows top to
// bottom, columns left to right) cell by cell.
func TestFiltersSVG(t *testing.T) {
	m := model(t, "model net {\n    input 1x6x6\n    conv 3x2 filters=5\n    relu\n    avgpool global\n    linear 1\n}")
	w := network.New(m, 0.1, "squared")
	rng := rand.New(rand.NewSource(1))
	W := make([]float64, 5*3*2)
	scale := []float64{1, 0, 3, 0, 2} // filters 1 and 3 are zero; norms rank 2, 4, 0
	for o := 0; o < 5; o++ {
		for k := 0; k < 6; k++ {
			W[o*6+k] = scale[o] * (0.3 + 0.1*float64(k) + 0.01*rng.Float64()) * float64(1-2*(k%2))
		}
	}
	w.Set("L1.weight", []int{5, 1, 3, 2}, W, "")
	w.Set("L4.weight", []int{1, 5}, []float64{1, 1, 1, 1, 1}, "")
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	b, ok, err := plot.FiltersSVG(w)
	if err != nil || !ok {
		t.Fatalf("FiltersSVG: ok %v, %v", ok, err)
	}
	doc := parseSVG(t, b)
	var titles []string
	for _, s := range doc.texts {
		if strings.HasPrefix(s, "filter ") {
			titles = append(titles, strings.Fields(s)[1])
		}
	}
	if got := strings.Join(titles, " "); got != "2 4 0" {
		t.Fatalf("panels %q, want the active filters by decreasing norm: 2 4 0", got)
	}
	// Heat-map cells: the filled paths that are neither the white panel backgrounds
	// nor black; gonum draws them column by column, each column bottom to top.
	var cells []string
	for _, p := range doc.paths {
		if p.fill != "" && p.fill != "NONE" && p.fill != "#FFFFFF" && p.stroke == "" {
			cells = append(cells, p.fill)
		}
	}
	if len(cells) != 3*6 {
		t.Fatalf("%d heat-map cells, want 3 panels × 6", len(cells))
	}
	k := 0
	for _, o := range []int{2, 4, 0} {
		kern := W[o*6 : o*6+6] // [3 rows][2 columns]
		mx := 0.0
		for _, v := range kern {
			mx = math.Max(mx, math.Abs(v))
		}
		cm := moreland.SmoothBlueRed()
		cm.SetMin(-mx)
		cm.SetMax(mx)
		pal := cm.Palette(255).Colors()
		for c := 0; c < 2; c++ {
			for r := 0; r < 3; r++ { // from the bottom: image row 2−r
				v := kern[(2-r)*2+c]
				want := hex(pal[int((v+mx)*float64(len(pal)-1)/(2*mx)+0.5)])
				if !near(cells[k], want) {
					t.Errorf("filter %d row %d column %d (w = %.3f): colour %s, want %s", o, 2-r, c, v, cells[k], want)
				}
				k++
			}
		}
	}
}

// circLinear builds the §7.3 network input 1×d · circconv (m full-length filters) ·
// linear 1 with random weights.
func circLinear(t *testing.T, d, m int, zero int) (*ir.Model, *network.Weights) {
	m0 := model(t, fmt.Sprintf("model net {\n    input 1x%d\n    circconv filters=%d\n    linear 1\n}", d, m))
	w := network.New(m0, 0.1, "squared")
	rng := rand.New(rand.NewSource(int64(d)))
	W := make([]float64, m*d)
	V := make([]float64, m*d)
	for i := range W {
		if i/d == zero {
			continue
		}
		W[i], V[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	w.Set("L1.weight", []int{m, 1, d}, W, "")
	w.Set("L2.weight", []int{1, m * d}, V, "")
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	return m0, w
}

// probe returns the linear function computed by network.Forward (the reference
// forward pass) as its coefficients: f(e_q) for every unit vector e_q.
func probe(t *testing.T, m *ir.Model, w *network.Weights, d int) []float64 {
	t.Helper()
	X := mat.NewDense(d, d, nil)
	for q := 0; q < d; q++ {
		X.Set(q, q, 1)
	}
	Y, err := network.Forward(m, w, X)
	if err != nil {
		t.Fatal(err)
	}
	return mat.Col(nil, 0, Y)
}

// fftMag is |F u| (unitary) at κ = 0 … ⌊d/2⌋ by gonum's FFT.
func fftMag(u []float64) []float64 {
	c := fourier.NewFFT(len(u)).Coefficients(nil, u)
	out := make([]float64, len(c))
	for k, z := range c {
		out[k] = cmplx.Abs(z) / math.Sqrt(float64(len(u)))
	}
	return out
}

// TestSpectrumSVG: for the linear circular CNN (§7.3) the effective filters are
// those of the network itself — each filter's u_j is the function computed by
// network.Forward with the other filters zeroed, and G = Σ u_j the whole network's —
// and the plotted magnitudes are |FFT(u)|/√d (gonum's FFT), for even and odd d and a
// zero filter (no panel). The figure's curves are those numbers: their points are an
// affine image of the magnitudes (the axis transform) to the SVG's precision.
func TestSpectrumSVG(t *testing.T) {
	for _, d := range []int{8, 9} {
		const m = 3
		mod, w := circLinear(t, d, m, 1)
		s, why := plot.CircSpectra(w)
		if s == nil {
			t.Fatalf("d=%d: no spectra: %s", d, why)
		}
		if fmt.Sprint(s.Units) != "[0 2]" {
			t.Fatalf("d=%d: units %v, want [0 2] (filter 1 is zero)", d, s.Units)
		}
		total := probe(t, mod, w, d)
		wantTotal := fftMag(total)
		for k := range wantTotal {
			if math.Abs(s.Total[k]-wantTotal[k]) > 1e-12*(1+wantTotal[k]) {
				t.Errorf("d=%d: |F G|[%d] = %.15g, FFT of the forward pass %.15g", d, k, s.Total[k], wantTotal[k])
			}
		}
		want := map[int][]float64{}
		L1 := w.Tensor("L1.weight")
		for i, j := range s.Units {
			keep := append([]float64(nil), L1.Data...)
			for o := 0; o < m; o++ {
				if o != j {
					for q := 0; q < d; q++ {
						L1.Data[o*d+q] = 0
					}
				}
			}
			u := probe(t, mod, w, d)
			copy(L1.Data, keep)
			for q := range u {
				if math.Abs(u[q]-s.Filter[i][q]) > 1e-12*(1+math.Abs(u[q])) {
					t.Fatalf("d=%d filter %d: u[%d] = %.15g, forward pass %.15g", d, j, q, s.Filter[i][q], u[q])
				}
			}
			want[j] = fftMag(u)
			for k := range want[j] {
				if math.Abs(s.Mag[i][k]-want[j][k]) > 1e-12*(1+want[j][k]) {
					t.Errorf("d=%d filter %d: |F u|[%d] = %.15g, FFT %.15g", d, j, k, s.Mag[i][k], want[j][k])
				}
			}
		}
		b, ok, _, err := plot.SpectrumSVG(w)
		if err != nil || !ok {
			t.Fatalf("SpectrumSVG: %v %v", ok, err)
		}
		doc := parseSVG(t, b)
		check := func(what string, path svgPath, mag []float64) {
			pts := points(t, path.d)
			if len(pts) != d/2+1 {
				t.Fatalf("d=%d %s: %d points, want %d frequencies", d, what, len(pts), d/2+1)
			}
			xs, ys, ks := make([]float64, len(pts)), make([]float64, len(pts)), make([]float64, len(pts))
			for k, p := range pts {
				xs[k], ys[k], ks[k] = p[0], p[1], float64(k)
			}
			if r, _ := affineFit(ks, xs); r > 0.02 {
				t.Errorf("d=%d %s: x is not evenly spaced in κ (residual %.3g pt)", d, what, r)
			}
			if r, b := affineFit(mag, ys); r > 0.02 || b <= 0 {
				t.Errorf("d=%d %s: the curve is not the FFT magnitudes (residual %.3g pt, slope %.3g)", d, what, r, b)
			}
		}
		tot := doc.stroked(plot.ColorTotal)
		units := doc.stroked(plot.ColorSpectrum)
		if len(tot) != 1 || len(units) != 2 {
			t.Fatalf("d=%d: %d whole-network curves and %d unit curves, want 1 and 2 (the active filters)", d, len(tot), len(units))
		}
		check("whole network", tot[0], wantTotal)
		check("filter 0", units[0], want[0])
		check("filter 2", units[1], want[2])
	}
}

// TestSpectrumCirc3: the §8 three-layer network. Branch k's effective filter is the
// function x ↦ Σ_t b_k[t]·(conv_k x)[t] (probed through network.Forward with the other
// branches zeroed and the ReLU's input read as the linear layer's output), and the
// output weights are reported per branch.
func TestSpectrumCirc3(t *testing.T) {
	const d, K = 7, 3
	mod := model(t, "model net {\n    input 1x7\n    circconv branches=3\n    linear 1 branches=3\n    relu\n    linear 1\n}\ntrain {\n    regularizer path\n}")
	w := network.New(mod, 0.1, "squared")
	rng := rand.New(rand.NewSource(3))
	A := make([]float64, K*d)
	B := make([]float64, K*K*d)
	for i := range A {
		A[i] = rng.NormFloat64()
	}
	for k := 0; k < K; k++ {
		for t := 0; t < d; t++ {
			B[k*K*d+k*d+t] = rng.NormFloat64()
		}
	}
	out := []float64{0.5, -1.5, 2}
	w.Regularizer = "path"
	w.Set("L1.weight", []int{K, 1, d}, A, "path")
	w.Set("L2.weight", []int{K, K * d}, B, "path")
	w.Set("L4.weight", []int{1, K}, out, "path")
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	s, why := plot.CircSpectra(w)
	if s == nil {
		t.Fatal(why)
	}
	if s.Total != nil {
		t.Error("a ReLU network has no whole-network filter")
	}
	if fmt.Sprint(s.Output) != fmt.Sprint(out) {
		t.Errorf("output weights %v, want %v", s.Output, out)
	}
	// Branch k's unit as a linear function: a network with only the linear part up to
	// layer 2 — probe input 1×d · circconv · linear, with unit k's row kept.
	lin := model(t, "model net {\n    input 1x7\n    circconv filters=3\n    linear 1\n}")
	for k := 0; k < K; k++ {
		wk := network.New(lin, 0.1, "squared")
		wk.Set("L1.weight", []int{K, 1, d}, A, "")
		wk.Set("L2.weight", []int{1, K * d}, B[k*K*d:(k+1)*K*d], "")
		if err := wk.Finalize(); err != nil {
			t.Fatal(err)
		}
		u := probe(t, lin, wk, d)
		for q := range u {
			if math.Abs(u[q]-s.Filter[k][q]) > 1e-12*(1+math.Abs(u[q])) {
				t.Fatalf("branch %d: u[%d] = %.15g, forward pass %.15g", k, q, s.Filter[k][q], u[q])
			}
		}
	}
	b, ok, _, err := plot.SpectrumSVG(w)
	if err != nil || !ok {
		t.Fatalf("SpectrumSVG: %v %v", ok, err)
	}
	doc := parseSVG(t, b)
	if n := len(doc.stroked(plot.ColorSpectrum)); n != K {
		t.Errorf("%d spectrum curves, want %d branches", n, K)
	}
	found := 0
	for _, s := range doc.texts {
		if strings.HasPrefix(s, "branch ") {
			found++
		}
	}
	if found != K {
		t.Errorf("%d branch panels, want %d", found, K)
	}
}

// TestFilters1D: 1-D filters are curves, one per active filter, whose points are
// the weights (tap against value) to the SVG's precision.
func TestFilters1D(t *testing.T) {
	_, w := circLinear(t, 8, 3, 1)
	b, ok, err := plot.FiltersSVG(w)
	if err != nil || !ok {
		t.Fatalf("FiltersSVG: %v %v", ok, err)
	}
	curves := parseSVG(t, b).stroked(plot.ColorFilter)
	if len(curves) != 2 {
		t.Fatalf("%d filter curves, want 2 (filter 1 is zero)", len(curves))
	}
	f := plot.ConvFilters(w)
	for i, o := range f.Largest() {
		pts := points(t, curves[i].d)
		k := f.Kernel(o, 0)[0]
		ys := make([]float64, len(pts))
		for j, p := range pts {
			ys[j] = p[1]
		}
		if len(pts) != len(k) {
			t.Fatalf("filter %d: %d points, want %d taps", o, len(pts), len(k))
		}
		if r, b := affineFit(k, ys); r > 0.02 || b <= 0 {
			t.Errorf("filter %d: the curve is not the weights (residual %.3g pt)", o, r)
		}
	}
}

// TestConvergenceSVG: the gap curve is the solver's rows on a log scale against one
// clock across phases (the second phase's times continue from the first's), the
// objective curve is linear in the objective, and the certified gap is marked.
func TestConvergenceSVG(t *testing.T) {
	tr := &solver.Trace{}
	tr.Begin("phase A")
	for i := 1; i <= 5; i++ {
		tr.Record(solver.Iterate{Iter: i, Gap: math.Pow(10, -float64(i)), Objective: 2 + 1/float64(i), Elapsed: time.Duration(i) * time.Second})
	}
	tr.Begin("phase B")
	tr.Record(solver.Iterate{Iter: 1, Gap: 1e-7, Objective: 2.1, Elapsed: 500 * time.Millisecond})
	tr.End(solver.Optimal, solver.Iterate{Iter: 2, Gap: 1e-8, Objective: 2.05, Elapsed: time.Second})
	convex, gap := 2.05, 3e-9
	run := &plot.Run{Model: "m", Status: "optimal", Phases: tr.Phases, Rows: tr.Rows, Convex: &convex, Gap: &gap}
	times := run.Times()
	if want := []float64{1, 2, 3, 4, 5, 5.5, 6}; fmt.Sprint(times) != fmt.Sprint(want) {
		t.Fatalf("times %v, want %v", times, want)
	}
	b, err := plot.ConvergenceSVG(run)
	if err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, b)
	g := doc.stroked(plot.ColorGap)
	o := doc.stroked(plot.ColorObjective)
	if len(g) < 1 || len(o) != 1 {
		t.Fatalf("%d gap and %d objective curves, want 1 each (plus the legend's sample)", len(g), len(o))
	}
	var lg, ob, ts []float64
	for i, r := range tr.Rows {
		lg = append(lg, math.Log10(*r.Gap))
		ob = append(ob, *r.Obj)
		ts = append(ts, times[i])
	}
	gp, op := points(t, g[0].d), points(t, o[0].d)
	if len(gp) != len(lg) || len(op) != len(ob) {
		t.Fatalf("%d gap and %d objective points, want %d rows", len(gp), len(op), len(lg))
	}
	col := func(p [][2]float64, i int) []float64 {
		out := make([]float64, len(p))
		for k := range p {
			out[k] = p[k][i]
		}
		return out
	}
	if r, _ := affineFit(ts, col(gp, 0)); r > 0.02 {
		t.Errorf("gap curve: x is not the time (residual %.3g pt)", r)
	}
	if r, b := affineFit(lg, col(gp, 1)); r > 0.02 || b <= 0 {
		t.Errorf("gap curve: y is not log10(gap) (residual %.3g pt)", r)
	}
	if r, b := affineFit(ob, col(op, 1)); r > 0.02 || b <= 0 {
		t.Errorf("objective curve: y is not the objective (residual %.3g pt)", r)
	}
	marked := false
	for _, p := range doc.paths {
		marked = marked || p.fill == hex(plot.ColorCertified)
	}
	if !marked {
		t.Error("the certified gap is not marked")
	}
}

// TestTraceThinning: the trace keeps at most Max rows, evenly thinned, always the
// first and the final row.
func TestTraceThinning(t *testing.T) {
	tr := &solver.Trace{Max: 10}
	tr.Begin("x")
	for i := 1; i <= 1000; i++ {
		tr.Record(solver.Iterate{Iter: i})
	}
	tr.End(solver.Optimal, solver.Iterate{Iter: 1000})
	if n := len(tr.Rows); n > 11 || n < 5 {
		t.Fatalf("%d rows kept, want at most Max (+ the final row) and at least Max/2", n)
	}
	if tr.Rows[0].Iter != 1 || !tr.Rows[len(tr.Rows)-1].Final {
		t.Errorf("first row %d, last final %v", tr.Rows[0].Iter, tr.Rows[len(tr.Rows)-1].Final)
	}
	for i := 1; i < len(tr.Rows)-1; i++ {
		if tr.Rows[i].Iter <= tr.Rows[i-1].Iter {
			t.Fatalf("rows out of order: %v", tr.Rows)
		}
	}
}
