// Command cnnc-phase runs the phase-transition experiment of §11
// (docs/math/11-fixed-output.md): for one-hidden-layer CNNs with one shared filter and
// fixed output weights c_k = 1/K, trained on `synthetic planted` data (1-D Gaussian
// signals, a hidden unit-norm filter w* of length h at K positions), it sweeps the
// number of samples n = ratio·h over a grid with several seeds and measures how
// often w* is recovered (‖ŵ − w*‖ < 1e-5)
//
//   - by cnnc's anchored convex relaxation, through the same pipeline as `cnnc solve`
//     (compiler/planted), and
//   - by gradient descent on the non-convex loss ½Σ(f(xᵢ) − yᵢ)² from a random start,
//
// for a few patch overlaps (strides). It prints the success rates and writes a plot of
// success probability against n/h (SVG or PNG, by the file extension).
//
// Usage:
//
//	go run ./cmd/cnnc-phase [-o docs/math/img/11-phase-transition.svg] [-seeds 50]
//	    [-h 10] [-k 4] [-strides 10,5,2] [-ratios 0.5,1,...] [-gd=true] [-csv FILE]
//
// The figure in docs/math/11-fixed-output.md was made with the defaults.
package main

import (
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cnnc-org/cnnc/compiler/planted"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cnnc-phase:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cnnc-phase", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "phase-transition.svg", "plot file (.svg or .png); empty: no plot")
	csv := fs.String("csv", "", "also write the results as CSV to this file")
	seeds := fs.Int("seeds", 50, "instances (seeds 0..N−1) per grid point")
	h := fs.Int("h", 10, "filter length h")
	k := fs.Int("k", 4, "positions K (the signal length is h + (K−1)·stride)")
	strides := fs.String("strides", "10,5,2", "strides to compare (overlap h − stride)")
	ratios := fs.String("ratios", "0.5,1,1.5,2,2.5,3,4,5,6,8,10,15,20", "grid of n/h")
	gd := fs.Bool("gd", true, "also run gradient descent from a random start")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: go run ./cmd/cnnc-phase [flags]\n\nPhase transition of cnnc's anchored relaxation for fixed-output-weight CNNs\n(docs/math/11-fixed-output.md) against gradient descent. Flags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seeds < 1 || *h < 1 || *k < 1 {
		return fmt.Errorf("-seeds, -h and -k must be ≥ 1")
	}
	st, err := ints(*strides)
	if err != nil {
		return fmt.Errorf("-strides: %v", err)
	}
	rs, err := floats(*ratios)
	if err != nil {
		return fmt.Errorf("-ratios: %v", err)
	}
	var all [][]planted.Point
	for _, s := range st {
		if s < 1 {
			return fmt.Errorf("stride %d < 1", s)
		}
		set := planted.Setting{D: *h + (*k-1)*s, H: *h, Stride: s}
		fmt.Fprintf(stdout, "%s, %d seeds per point\n", set, *seeds)
		fmt.Fprintf(stdout, "  %5s %5s  %-11s %-10s %-10s %-11s %-9s %s\n", "n/h", "n", "relaxation", "certified", "unique", "gradient", "median", "time/relax")
		start := time.Now()
		pts, err := planted.Sweep(set, rs, *seeds, *gd, func(p planted.Point) {
			sec := 0.0
			for _, r := range p.Relax {
				sec += r.Seconds
			}
			g := "—"
			if *gd {
				g = fmt.Sprintf("%d/%d", count(p.GDRate(), len(p.GD)), len(p.GD))
			}
			fmt.Fprintf(stdout, "  %5.1f %5d  %-11s %-10s %-10s %-11s %-9.1e %.3fs\n", p.Ratio, p.N,
				fmt.Sprintf("%d/%d", count(p.RelaxRate(), len(p.Relax)), len(p.Relax)),
				fmt.Sprintf("%d/%d", p.Certified(), len(p.Relax)), fmt.Sprintf("%d/%d", p.Unique(), len(p.Relax)),
				g, p.MedianError(), sec/float64(len(p.Relax)))
			for _, r := range p.Relax {
				if (r.Certified && r.Unique) != r.Success() {
					fmt.Fprintf(stdout, "        seed %d: certified %v, unique %v, but ‖ŵ − w*‖ = %.3g\n", r.Seed, r.Certified, r.Unique, r.Error)
				}
			}
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  (%.1fs)\n\n", time.Since(start).Seconds())
		all = append(all, pts)
	}
	if *csv != "" {
		if err := writeCSV(*csv, all); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", *csv)
	}
	if *out != "" {
		if err := drawPlot(*out, all, *seeds, *gd); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", *out)
	}
	return nil
}

func count(rate float64, n int) int { return int(math.Round(rate * float64(n))) }

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func floats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v > 0) {
			return nil, fmt.Errorf("bad ratio %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func writeCSV(path string, all [][]planted.Point) error {
	var b strings.Builder
	b.WriteString("d,h,stride,K,ratio,n,trials,relax_success,certified,unique,gd_success,median_error\n")
	for _, pts := range all {
		for _, p := range pts {
			s := p.Setting
			fmt.Fprintf(&b, "%d,%d,%d,%d,%g,%d,%d,%d,%d,%d,%d,%.6g\n", s.D, s.H, s.Stride, s.K(), p.Ratio, p.N, len(p.Relax),
				count(p.RelaxRate(), len(p.Relax)), p.Certified(), p.Unique(), count(p.GDRate(), len(p.GD)), p.MedianError())
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

func drawPlot(path string, all [][]planted.Point, seeds int, gd bool) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Recovery of a planted filter (h = %d, K = %d, c = 1/K), %d instances per point", all[0][0].Setting.H, all[0][0].Setting.K(), seeds)
	p.X.Label.Text = "samples per filter weight, n/h"
	p.Y.Label.Text = "P(‖ŵ − w*‖ < 1e-5)"
	p.X.Scale = plot.LogScale{}
	var ticks []plot.Tick
	for _, pt := range all[0] {
		ticks = append(ticks, plot.Tick{Value: pt.Ratio, Label: strconv.FormatFloat(pt.Ratio, 'g', -1, 64)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min, p.Y.Max = -0.02, 1.02
	p.Legend.Top = false // lower right: no curve is there (0 % only below n/h ≈ 1)
	p.Legend.Left = false
	p.Legend.XOffs = -6
	p.Legend.YOffs = 6
	p.Add(plotter.NewGrid())
	for si, pts := range all {
		s := pts[0].Setting
		col := palette[si%len(palette)]
		lp := make(plotter.XYs, len(pts))
		gdp := make(plotter.XYs, len(pts))
		for i, pt := range pts {
			lp[i] = plotter.XY{X: pt.Ratio, Y: pt.RelaxRate()}
			gdp[i] = plotter.XY{X: pt.Ratio, Y: pt.GDRate()}
		}
		l, sc, err := plotter.NewLinePoints(lp)
		if err != nil {
			return err
		}
		l.Color, l.Width = col, vg.Points(1.8)
		sc.Color, sc.Shape = col, draw.CircleGlyph{}
		p.Add(l, sc)
		p.Legend.Add(fmt.Sprintf("relaxation, stride %d (overlap %d)", s.Stride, s.H-s.Stride), l, sc)
		if gd {
			g, gs, err := plotter.NewLinePoints(gdp)
			if err != nil {
				return err
			}
			g.Color, g.Width, g.Dashes = col, vg.Points(1.2), []vg.Length{vg.Points(5), vg.Points(3)}
			gs.Color, gs.Shape = col, draw.TriangleGlyph{}
			p.Add(g, gs)
			p.Legend.Add(fmt.Sprintf("gradient descent, stride %d", s.Stride), g, gs)
		}
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}
