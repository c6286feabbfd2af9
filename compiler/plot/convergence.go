package plot

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// Run is what the convergence plot draws: report.json's trace and its certified
// result.
type Run struct {
	Model  string
	Status string
	Phases []string          // solver runs, in order (trace.phases)
	Rows   []solver.TraceRow // trace.rows
	// Convex is the convex optimum; Gap the certified gap convex − dual bound (nil:
	// the rule has no certified bound).
	Convex, Gap *float64
}

// Times returns each row's time on one clock: the solvers' elapsed times restart
// with every phase, so each phase is shifted by the last time of the one before.
func (r *Run) Times() []float64 {
	out := make([]float64, len(r.Rows))
	off, last, phase := 0.0, 0.0, -1
	for i, row := range r.Rows {
		if row.Phase != phase {
			if phase >= 0 {
				off += last
			}
			phase, last = row.Phase, 0
		}
		last = math.Max(last, row.Sec)
		out[i] = off + row.Sec
	}
	return out
}

// ConvergenceSVG draws two panels against wall time: the objective each solver row
// reports, and its gap (absolute or relative, as the solver documents it; log scale,
// positive values only), with the certified gap of the report (convex optimum −
// certified dual bound) marked at the end.
func ConvergenceSVG(r *Run) ([]byte, error) {
	t := r.Times()
	var obj, gap plotter.XYs
	for i, row := range r.Rows {
		if row.Obj != nil {
			obj = append(obj, plotter.XY{X: t[i], Y: *row.Obj})
		}
		if row.Gap != nil && *row.Gap > 0 {
			gap = append(gap, plotter.XY{X: t[i], Y: *row.Gap})
		}
	}
	end := 0.0
	if len(t) > 0 {
		end = t[len(t)-1]
	}
	po := plot.New()
	small(po)
	po.Title.Text = "objective (per solver row)"
	if r.Convex != nil {
		po.Title.Text += ", convex optimum " + fmt.Sprintf("%.10g", *r.Convex)
	}
	po.X.Label.Text = "time (s)"
	po.Y.Label.Text = "objective"
	po.Y.Tick.Marker = distinctTicks{}
	po.Add(plotter.NewGrid())
	if len(obj) > 0 {
		l, s, err := line(obj, ColorObjective, 1.4)
		if err != nil {
			return nil, err
		}
		po.Add(l, s)
	}
	pg := plot.New()
	small(pg)
	pg.Title.Text = "gap (per solver row, as the solver reports it)"
	pg.X.Label.Text = "time (s)"
	pg.Y.Label.Text = "gap"
	pg.Add(plotter.NewGrid())
	logY := len(gap) > 0
	if r.Gap != nil && *r.Gap <= 0 {
		logY = false
	}
	if logY {
		pg.Y.Scale = plot.LogScale{}
		pg.Y.Tick.Marker = logTicks{}
	}
	if len(gap) > 0 {
		l, s, err := line(gap, ColorGap, 1.4)
		if err != nil {
			return nil, err
		}
		pg.Add(l, s)
		pg.Legend.Add("solver's gap", l, s)
	}
	pg.Legend.Top, pg.Legend.Left = false, true // a falling gap leaves the lower left empty
	pg.Legend.XOffs, pg.Legend.YOffs = vg.Points(4), vg.Points(4)
	pg.Legend.TextStyle.Font.Size = 7
	po.X.Min, pg.X.Min = 0, 0 // from the start of the solve
	if r.Gap != nil {
		rel := *r.Gap
		if r.Convex != nil {
			rel /= math.Max(1, math.Abs(*r.Convex))
		}
		c, err := plotter.NewScatter(plotter.XYs{{X: end, Y: rel}})
		if err != nil {
			return nil, err
		}
		c.Color, c.Shape, c.Radius = ColorCertified, draw.PyramidGlyph{}, vg.Points(4)
		pg.Add(c)
		pg.Legend.Add(fmt.Sprintf("certified: (optimum − dual bound)/max(1, |optimum|) = %s", sci(rel)), c)
	} else {
		pg.Title.Text += "; no certified bound for this rule"
	}
	if len(gap) == 0 && r.Gap == nil {
		pg.Title.Text = "the solver reported no gap; no certified bound for this rule"
	}
	title := fmt.Sprintf("%s: convergence (%d solver rows", r.Model, len(r.Rows))
	if n := len(r.Phases); n > 1 {
		title += fmt.Sprintf(" over %d solver runs", n)
	}
	title += fmt.Sprintf(", status %s)", r.Status)
	return svgBytes(title, []*plot.Plot{po, pg}, 2, vg.Points(300), vg.Points(220))
}

// logTicks are gonum's log-scale ticks with short labels (1e-05, not 9.99…e-06).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.LogTicks{Prec: -1}.Ticks(lo, hi)
	labelled := 0
	for _, t := range ts {
		if t.Label != "" {
			labelled++
		}
	}
	if labelled < 2 { // less than a decade: label the ends too
		ts = append(ts, plot.Tick{Value: lo, Label: "x"}, plot.Tick{Value: hi, Label: "x"})
	}
	for i := range ts {
		if ts[i].Label == "" {
			continue
		}
		v := ts[i].Value
		if a := math.Abs(v); a != 0 && (a < 1e-2 || a >= 1e3) {
			ts[i].Label = fmt.Sprintf("%.0e", v)
		} else {
			ts[i].Label = strconv.FormatFloat(v, 'g', 3, 64)
		}
	}
	return ts
}

// distinctTicks are gonum's default ticks with labels precise enough to differ (a
// solver's objective often changes only in the sixth digit).
type distinctTicks struct{}

func (distinctTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for prec := 3; prec <= 15; prec++ {
		seen, ok := map[string]bool{}, true
		for _, t := range ts {
			if t.Label == "" {
				continue
			}
			l := strconv.FormatFloat(t.Value, 'g', prec, 64)
			ok = ok && !seen[l]
			seen[l] = true
		}
		if ok || prec == 15 {
			for i := range ts {
				if ts[i].Label != "" {
					ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', prec, 64)
				}
			}
			return ts
		}
	}
	return ts
}
