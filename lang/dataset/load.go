package dataset

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/progress"
	"github.com/cnnc-org/cnnc/lang/token"
)

// Options bound the work of LoadWith. The zero value applies the default memory
// budget, reports no progress and never stops early.
type Options struct {
	// MaxMemory is the memory budget in bytes (package budget: 0 the default, < 0
	// none). Each reader checks the bytes it will hold (the raw values, their
	// float64 conversion and the transformed matrix) against it before allocating,
	// and the CSV reader while it reads; a refusal is a CodeTooLarge diagnostic at
	// the source statement. MaxElements applies in any case.
	MaxMemory int64
	// Progress receives the progress of reading a CSV file (bytes); nil: none.
	Progress progress.Reporter
	// Context ends the CSV reader early (a CodeStopped diagnostic); nil: never.
	Context context.Context
	// Model is the model the data feed (LoadFor): its input shape when none is
	// given, and where `synthetic planted` plants its hidden filter. nil: none.
	Model *ir.Model
}

// MaxElements bounds the scalars (samples × features) any source may produce:
// 2²⁸ float64 values are 2 GiB. Larger declared sizes are refused before anything
// is allocated.
const MaxElements = 1 << 28

// Stats is the state a train set hands to its test set: the standardisation
// statistics and the class order of one-hot targets.
type Stats struct {
	// Mean and Std are per feature (after `scale`), nil when the train set is not
	// standardised. Std is the population standard deviation, replaced by 1 for a
	// constant feature.
	Mean, Std []float64
	// Classes is the class of each one-hot column under `classes all`.
	Classes []int
	// Levels are the two target values of a single-column classification of the
	// train set (see Dataset.Levels); a test set with targets among them is a
	// classification too.
	Levels []float64
}

// Load reads the data block d, applies its transforms in the order of
// docs/language.md and reshapes each sample to shape (the model's input shape; nil keeps
// the file's own per-sample shape).
//
// stats is nil for the train set: statistics are computed from it and returned.
// For a test set pass the train set's Stats: they are applied (and returned
// unchanged). The returned Dataset is nil exactly when the list has errors;
// warnings (W01xx) may accompany a valid Dataset.
func Load(d *ir.Data, shape ir.Shape, stats *Stats) (*Dataset, *Stats, diag.List) {
	return LoadWith(d, shape, stats, Options{})
}

// LoadFor is Load for the model m (the data's consumer): samples are reshaped to
// m's input shape, and the `planted` generator plants its hidden filter in m's first
// convolution and output weights (planted.go).
func LoadFor(d *ir.Data, m *ir.Model, stats *Stats) (*Dataset, *Stats, diag.List) {
	return LoadWith(d, nil, stats, Options{Model: m})
}

// LoadWith is Load with Options (memory budget, progress, context, the consuming
// model). When o.Model is set and shape is nil, the model's input shape is used.
func LoadWith(d *ir.Data, shape ir.Shape, stats *Stats, o Options) (*Dataset, *Stats, diag.List) {
	if shape == nil && o.Model != nil && len(o.Model.Layers) > 0 {
		shape = o.Model.Input()
	}
	l := &loader{d: d, shape: shape, model: o.Model, opts: o}
	if d == nil {
		l.errf(CodeRead, token.Range{}, "", "no data block given")
		return nil, nil, l.diags
	}
	r := l.read()
	if r == nil || l.diags.HasErrors() {
		return nil, nil, l.diags
	}
	ds, st := l.transform(r, shape, stats)
	if l.diags.HasErrors() {
		return nil, nil, l.diags
	}
	return ds, st, l.diags
}

// loader collects the diagnostics of one Load.
type loader struct {
	d     *ir.Data
	shape ir.Shape  // the model's input shape (nil: none)
	model *ir.Model // the model the data feed (nil: unknown; see LoadFor)
	opts  Options
	diags diag.List
}

// fits reports whether need bytes fit the memory budget; if not, it adds a
// CodeTooLarge diagnostic at the source statement.
func (l *loader) fits(need int64, what string) bool {
	return l.fitsAt(need, what, l.srcRange(), "Load fewer samples (`limit N` keeps the first N, but the whole file is still read), or split the file.")
}

// fitsAt is fits with the diagnostic at rng (the construct that sets the size)
// and its own advice.
func (l *loader) fitsAt(need int64, what string, rng token.Range, advice string) bool {
	err := budget.Check(l.opts.MaxMemory, need, what, advice)
	if tl := budget.AsTooLarge(err); tl != nil {
		l.errf(CodeTooLarge, rng, tl.Detail(), "data %s: %v", l.d.Name, tl)
		return false
	}
	return true
}

func (l *loader) errf(code string, r token.Range, detail, format string, args ...any) {
	l.diags.Errorf(code, r, detail, format, args...)
}

func (l *loader) warnf(code string, r token.Range, detail, format string, args ...any) {
	l.diags.Add(&diag.Diagnostic{Severity: diag.Warning, Code: code, Range: r, Summary: fmt.Sprintf(format, args...), Detail: detail})
}

// srcRange is the range of the source statement (csv/npy/idx/synthetic), falling
// back to the data block.
func (l *loader) srcRange() token.Range {
	if l.d.Source.Range.IsValid() {
		return l.d.Source.Range
	}
	return l.d.Range
}

// features is a table of n samples × cols features, kept in its stored type until
// rows are selected.
type features interface {
	cols() int
	row(i int, dst []float64)
}

type f64rows struct {
	p int
	v []float64
}

func (f *f64rows) cols() int                { return f.p }
func (f *f64rows) row(i int, dst []float64) { copy(dst, f.v[i*f.p:(i+1)*f.p]) }

type u8rows struct {
	p int
	v []byte
}

func (f *u8rows) cols() int { return f.p }
func (f *u8rows) row(i int, dst []float64) {
	src := f.v[i*f.p : (i+1)*f.p]
	for j, b := range src {
		dst[j] = float64(b)
	}
}

// raw is a source as read, before transforms.
type raw struct {
	n     int
	shape []int // per-sample shape in the file
	feat  features
	y     []float64 // n × yc targets
	yc    int
	// where(i) names sample i's target in the file ("x.csv line 7"), for errors.
	where func(i int) string
	// classes (generators only): y already holds ±1 targets for these two labels.
	labels  []int
	classes []int
	source  string
	teacher *Teacher
}

func (l *loader) read() *raw {
	switch l.d.Source.Kind {
	case ir.CSV:
		return l.readCSV()
	case ir.NPY:
		return l.readNPYPair()
	case ir.IDX:
		return l.readIDXPair()
	case ir.Synthetic:
		return l.synthetic()
	}
	l.errf(CodeRead, l.srcRange(), "", "data %s: unknown source kind %d", l.d.Name, int(l.d.Source.Kind))
	return nil
}

// intLabel converts a target value to a class label if it is an integer.
func intLabel(v float64) (int, bool) {
	if v != math.Trunc(v) || math.Abs(v) > 1<<31 {
		return 0, false
	}
	return int(v), true
}

func (l *loader) transform(r *raw, shape ir.Shape, stats *Stats) (*Dataset, *Stats) {
	d := l.d
	blk := d.Range
	if !blk.IsValid() {
		blk = l.srcRange()
	}
	p := r.feat.cols()
	outShape := append([]int(nil), r.shape...)
	if len(shape) > 0 {
		if shape.Size() != p {
			l.errf(CodeShape, l.srcRange(),
				fmt.Sprintf("Each sample is reshaped to the model's input shape in row-major (C, H, W) order, so the sizes must agree. Check the input layer or the data file (%s).", r.source),
				"data %s: a sample has %d values (shape %s) but the model input %s needs %d",
				d.Name, p, ir.Shape(r.shape), shape, shape.Size())
			return nil, nil
		}
		outShape = append([]int(nil), shape...)
	}
	if d.Limit < 0 {
		l.errf(CodeLimit, blk, "`limit N` keeps the first N samples; N must be a positive integer.", "data %s: limit %d is not positive", d.Name, d.Limit)
		return nil, nil
	}

	// Step 3: classes.
	var (
		rows           []int
		Y              []float64
		yc             int
		labels         []int
		classes        []int
		classification bool
	)
	out := stats
	if out == nil {
		out = &Stats{}
	}
	needLabels := len(d.Classes) > 0 || d.AllClasses
	lblk := blk
	if d.ClassesRange.IsValid() {
		lblk = d.ClassesRange // label problems point at the classes statement
	}
	var levels []float64
	if r.yc == 0 { // unlabeled (a prediction input): every row is kept
		rows = make([]int, r.n)
		for i := range rows {
			rows[i] = i
		}
		switch {
		case len(d.Classes) == 2:
			classes, classification, levels = append([]int(nil), d.Classes...), true, []float64{-1, 1}
		case d.AllClasses && stats != nil && stats.Classes != nil:
			classes, classification = stats.Classes, true
		case stats != nil && stats.Levels != nil:
			classification, levels = true, stats.Levels
		}
	} else if needLabels {
		if r.yc != 1 {
			l.errf(CodeNotClasses, lblk, "`classes` needs one integer class label per sample.", "data %s: `classes` needs a single label column, but the targets have %d columns", d.Name, r.yc)
			return nil, nil
		}
		all := r.labels // generators that make classes hand their labels over
		if all == nil {
			all = make([]int, r.n)
			for i := 0; i < r.n; i++ {
				c, ok := intLabel(r.y[i])
				if !ok {
					l.errf(CodeNotClasses, lblk, "`classes` selects samples by integer class label; these targets are real numbers. Drop the `classes` statement to regress on them.",
						"data %s: target %g at %s is not an integer class label", d.Name, r.y[i], r.where(i))
					return nil, nil
				}
				all[i] = c
			}
		}
		if len(d.Classes) > 0 && len(d.Classes) != 2 {
			if len(d.Classes) < 2 {
				l.errf(CodeClassAbsent, lblk, "Write `classes A B`, `classes A B C …` or `classes all`.", "data %s: classes needs at least two labels, got %d", d.Name, len(d.Classes))
				return nil, nil
			}
			// classes A B C …: keep the listed classes, one-hot in the listed order
			classes = append([]int(nil), d.Classes...)
			col := make(map[int]int, len(classes))
			for j, c := range classes {
				col[c] = j
			}
			yc = len(classes)
			count := make([]int, yc)
			for i, c := range all {
				j, ok := col[c]
				if !ok {
					continue
				}
				if d.Limit > 0 && len(rows) >= d.Limit {
					break
				}
				count[j]++
				rows = append(rows, i)
				for k := 0; k < yc; k++ {
					Y = append(Y, 0)
				}
				Y[len(Y)-yc+j] = 1
				labels = append(labels, c)
			}
			for j, n := range count {
				if n == 0 && (d.Limit == 0 || len(rows) < d.Limit) {
					l.errf(CodeClassAbsent, lblk, fmt.Sprintf("The labels present are %s.", presentClasses(all)),
						"data %s: class %d has no sample in %s", d.Name, classes[j], r.source)
					return nil, nil
				}
			}
			if stats == nil {
				out.Classes = classes
			}
			classification = true
		} else if len(d.Classes) > 0 {
			a, b := d.Classes[0], d.Classes[1]
			if a == b {
				l.errf(CodeClassAbsent, lblk, "`classes A B` maps A to −1 and B to +1; they must differ.", "data %s: classes %d %d name the same class twice", d.Name, a, b)
				return nil, nil
			}
			var na, nb int
			for i, c := range all {
				switch c {
				case a:
					na++
					rows = append(rows, i)
					Y = append(Y, -1)
					labels = append(labels, c)
				case b:
					nb++
					rows = append(rows, i)
					Y = append(Y, +1)
					labels = append(labels, c)
				}
			}
			for _, cc := range [][2]int{{a, na}, {b, nb}} {
				if cc[1] == 0 {
					l.errf(CodeClassAbsent, lblk, fmt.Sprintf("The labels present are %s.", presentClasses(all)),
						"data %s: class %d has no sample in %s", d.Name, cc[0], r.source)
				}
			}
			if na == 0 || nb == 0 {
				return nil, nil
			}
			classes, yc, classification, levels = []int{a, b}, 1, true, []float64{-1, 1}
		} else {
			if stats != nil && stats.Classes != nil {
				classes = stats.Classes
			} else {
				classes = distinct(all)
				if stats == nil {
					out.Classes = classes
				}
			}
			col := make(map[int]int, len(classes))
			for j, c := range classes {
				col[c] = j
			}
			yc = len(classes)
			keep := r.n
			if d.Limit > 0 {
				keep = min(keep, d.Limit) // step 4 early: no one-hot rows beyond the limit
			}
			if keep*yc > MaxElements {
				l.errf(CodeSize, lblk, "", "data %s: %d samples × %d classes of one-hot targets are more than %d values", d.Name, keep, yc, MaxElements)
				return nil, nil
			}
			Y = make([]float64, 0, keep*yc)
			for i, c := range all[:keep] {
				j, ok := col[c]
				if !ok {
					l.errf(CodeClassAbsent, lblk, fmt.Sprintf("The train set's classes are %v; one-hot columns follow them.", classes),
						"data %s: label %d at %s is not a class of the train set", d.Name, c, r.where(i))
					return nil, nil
				}
				rows = append(rows, i)
				for k := 0; k < yc; k++ {
					Y = append(Y, 0)
				}
				Y[len(Y)-yc+j] = 1
				labels = append(labels, c)
			}
			classification = true
		}
	} else {
		rows = make([]int, r.n)
		for i := range rows {
			rows[i] = i
		}
		Y, yc = r.y, r.yc
		if r.classes != nil {
			labels, classes, classification, levels = r.labels, r.classes, true, []float64{-1, 1}
		}
	}

	// Step 4: limit.
	if yc == 0 && d.Limit > 0 && len(rows) > d.Limit {
		rows = rows[:d.Limit]
	}
	if yc > 0 && d.Limit > 0 && len(rows) > d.Limit {
		rows = rows[:d.Limit]
		Y = Y[:d.Limit*yc]
		if labels != nil {
			labels = labels[:d.Limit]
		}
	}
	if len(rows) == 0 {
		l.errf(CodeNoSamples, blk, "Check the `classes` and `limit` statements against the labels in the file.", "data %s: no sample left after filtering %s", d.Name, r.source)
		return nil, nil
	}
	n := len(rows)
	if !l.fits(budget.Floats(int64(n), int64(p)), fmt.Sprintf("the feature matrix of %d samples × %d features", n, p)) {
		return nil, nil
	}
	X := mat.NewDense(n, p, nil)
	for i, ri := range rows {
		r.feat.row(ri, X.RawRowView(i))
	}
	Y = append([]float64(nil), Y...) // never alias the source's slice

	// Step 5: scale.
	if d.HasScale {
		if math.IsNaN(d.Scale) || math.IsInf(d.Scale, 0) {
			l.errf(CodeScale, blk, "", "data %s: scale %g is not a finite number", d.Name, d.Scale)
			return nil, nil
		}
		X.Scale(d.Scale, X)
	}

	// Step 6: standardize.
	switch {
	case d.Standardize && stats != nil && stats.Mean != nil:
		if len(stats.Mean) != p {
			l.errf(CodeStats, blk, "Standardisation statistics come from the train set; both sets must have the same number of features.",
				"data %s: train statistics cover %d features, this set has %d", d.Name, len(stats.Mean), p)
			return nil, nil
		}
		applyStats(X, stats.Mean, stats.Std)
	case d.Standardize:
		mean, std := columnStats(X)
		applyStats(X, mean, std)
		if stats == nil {
			out.Mean, out.Std = mean, std
		} else {
			l.warnf(CodeStandardize, blk, "The train set is not standardised, so this set is standardised with its own statistics. Add `standardize` to the train block, or remove it here.",
				"data %s: standardised with its own statistics", d.Name)
		}
	case stats != nil && stats.Mean != nil:
		l.warnf(CodeStandardize, blk, "The train set is standardised but this set is not, so the trained network will see differently scaled inputs. Add `standardize` here.",
			"data %s: not standardised, but the train set is", d.Name)
	}

	// Overflow of finite inputs (|x·F| beyond the float64 range).
	if k := firstNonFinite(X.RawMatrix().Data); k >= 0 {
		l.errf(CodeNonFinite, blk, "Scaling made a value overflow; use a smaller `scale`.", "data %s: feature %d of sample %d (row %d of %s) is not finite after scaling", d.Name, k%p, k/p, rows[k/p], r.source)
		return nil, nil
	}

	// Two-valued targets are classes: the train set's two values (low, high) make it
	// a classification, and a test set whose targets are among them is one too.
	if yc == 1 && !classification {
		switch {
		case stats == nil:
			if lv := twoValues(Y); lv != nil {
				classification, levels = true, lv
			}
		case stats.Levels != nil && among(Y, stats.Levels):
			classification, levels = true, stats.Levels
		}
	}
	if stats == nil && classification && yc == 1 {
		out.Levels = levels
	}

	// Degenerate training problem.
	if stats == nil && yc > 0 && allRowsEqual(Y, yc) {
		l.warnf(CodeDegenerate, blk, "Every target has the same value, so the training problem is degenerate: a constant predicts it exactly and no feature matters. Check `classes`, `limit` and the label column.",
			"data %s: all %d targets are equal (%s)", d.Name, n, fmtRow(Y[:yc]))
	}

	var Ym *mat.Dense
	if yc > 0 {
		Ym = mat.NewDense(n, yc, Y)
	}
	ds := &Dataset{
		Name:           d.Name,
		Shape:          outShape,
		X:              X,
		Y:              Ym,
		Classification: classification,
		Labels:         labels,
		Classes:        classes,
		Levels:         levels,
		Source:         r.source,
		Teacher:        r.teacher,
	}
	return ds, out
}

func presentClasses(all []int) string {
	cs := distinct(all)
	if len(cs) > 20 {
		return fmt.Sprintf("%d distinct labels from %d to %d", len(cs), cs[0], cs[len(cs)-1])
	}
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, ", ")
}

func distinct(all []int) []int {
	seen := map[int]bool{}
	var cs []int
	for _, c := range all {
		if !seen[c] {
			seen[c] = true
			cs = append(cs, c)
		}
	}
	sort.Ints(cs)
	return cs
}

// columnStats returns each column's mean and population standard deviation
// (two passes), with σ = 1 for a constant column: σ ≤ 1e-12·max(1, |μ|).
func columnStats(X *mat.Dense) (mean, std []float64) {
	n, p := X.Dims()
	mean = make([]float64, p)
	std = make([]float64, p)
	for i := 0; i < n; i++ {
		for j, v := range X.RawRowView(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j, v := range X.RawRowView(i) {
			e := v - mean[j]
			std[j] += e * e
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(n))
		if std[j] <= 1e-12*math.Max(1, math.Abs(mean[j])) {
			std[j] = 1
		}
	}
	return mean, std
}

func applyStats(X *mat.Dense, mean, std []float64) {
	n, _ := X.Dims()
	for i := 0; i < n; i++ {
		row := X.RawRowView(i)
		for j := range row {
			row[j] = (row[j] - mean[j]) / std[j]
		}
	}
}

// twoValues returns the two distinct values of y, low then high, or nil when y
// does not take exactly two values.
func twoValues(y []float64) []float64 {
	if len(y) == 0 {
		return nil
	}
	lo, hi, two := y[0], y[0], false
	for _, v := range y {
		switch {
		case v == lo || v == hi:
		case !two:
			two = true
			lo, hi = min(lo, v), max(hi, v)
		default:
			return nil
		}
	}
	if !two {
		return nil
	}
	return []float64{lo, hi}
}

// among reports whether every value of y is one of levels.
func among(y, levels []float64) bool {
	for _, v := range y {
		if v != levels[0] && v != levels[1] {
			return false
		}
	}
	return true
}

func allRowsEqual(Y []float64, c int) bool {
	for i := c; i < len(Y); i++ {
		if Y[i] != Y[i%c] {
			return false
		}
	}
	return true
}

func fmtRow(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%g", x)
	}
	if len(s) == 1 {
		return s[0]
	}
	return "[" + strings.Join(s, " ") + "]"
}
