package dataset

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/progress"
)

// readCSV reads `csv "file" [label=last|first|COLUMN] [header=true|false]`: one
// sample per record, every cell a number (surrounding spaces allowed), the label
// column the target and every other column, in file order, a feature. COLUMN is a
// header name (with header=true) or a 0-based column index. Blank lines and a
// leading UTF-8 byte order mark are skipped; quoted cells follow RFC 4180.
func (l *loader) readCSV() *raw {
	src := l.d.Source
	path := src.Path
	rg := l.srcRange()
	f, size, err := openRegular(path)
	if err != nil {
		l.errf(CodeRead, rg, "", "cannot read CSV file: %v", err)
		return nil
	}
	defer f.Close()
	if size == 0 {
		l.errf(CodeEmpty, rg, "A CSV data file needs one row per sample.", "%s: empty file", path)
		return nil
	}
	task := progress.Start(l.opts.Progress, "reading "+path, size, "bytes")
	defer task.End()
	lr := &lineLimit{r: f, max: MaxCSVLine, task: task, ctx: l.opts.Context}
	br := bufio.NewReaderSize(lr, 1<<16)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" { // UTF-8 byte order mark
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true

	readErr := func(err error) {
		if errors.Is(err, errLineTooLong) {
			l.errf(CodeCSVCell, rg, fmt.Sprintf("A CSV line holds one sample; this reader stops at lines longer than %s. Check that the file has one line per sample (a file without newlines, or with old Mac CR line ends, is one long line).", budget.Format(MaxCSVLine)),
				"%s: line %d is longer than %s", path, lr.line, budget.Format(MaxCSVLine))
			return
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			l.errf(CodeStopped, rg, "", "%s: reading stopped at line %d (%v)", path, lr.line, err)
			return
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			l.errf(CodeCSVCell, rg, "", "%s: line %d, column %d: malformed CSV: %v", path, pe.Line, pe.Column, pe.Err)
			return
		}
		l.errf(CodeRead, rg, "", "%s: %v", path, err)
	}

	var names []string
	if src.Header {
		rec, err := cr.Read()
		if err == io.EOF {
			l.errf(CodeEmpty, rg, "", "%s: no header row (the file has no records)", path)
			return nil
		}
		if err != nil {
			readErr(err)
			return nil
		}
		for _, s := range rec {
			names = append(names, strings.TrimSpace(s))
		}
	}

	var (
		xs, ys []float64
		lines  []int
		ncol   = len(names)
		label  = -1
		line0  int
	)
	unlabeled := src.NoLabel
	resolve := func() bool {
		if unlabeled {
			if ncol < 1 {
				l.errf(CodeCSVLabel, rg, "Each row needs at least one feature column.", "%s: no columns", path)
				return false
			}
			label = ncol // no column is the label
			return true
		}
		if ncol < 2 {
			l.errf(CodeCSVLabel, rg, "Each row needs at least one feature column and the label column.", "%s: %s per row; need at least 2", path, plural(ncol, "column", "columns"))
			return false
		}
		switch lab := strings.TrimSpace(src.Label); lab {
		case "", "last":
			label = ncol - 1
		case "first":
			label = 0
		default:
			for j, nm := range names {
				if nm == lab {
					label = j
					return true
				}
			}
			k, err := strconv.Atoi(lab)
			if err != nil || k < 0 || k >= ncol {
				detail := fmt.Sprintf("Use label=last, label=first, a 0-based column index below %d", ncol)
				if names != nil {
					detail += ", or one of the header names " + strings.Join(quoteAll(names), ", ")
				} else {
					detail += ", or header=true to select a column by name"
				}
				l.errf(CodeCSVLabel, rg, detail+".", "%s: label column %q not found", path, lab)
				return false
			}
			label = k
		}
		return true
	}
	if names != nil && !resolve() {
		return nil
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr(err)
			return nil
		}
		line, _ := cr.FieldPos(0)
		if label < 0 {
			ncol = len(rec)
			line0 = line
			if !resolve() {
				return nil
			}
		}
		if len(rec) != ncol {
			ref := "the header"
			if names == nil {
				ref = fmt.Sprintf("line %d", line0)
			}
			l.errf(CodeCSVRagged, rg, "Every row must have the same number of fields.", "%s: line %d has %s, but %s has %d", path, line, plural(len(rec), "field", "fields"), ref, ncol)
			return nil
		}
		if (len(lines)+1)*ncol > MaxElements {
			l.errf(CodeSize, rg, "", "%s: more than %d values; too large to load", path, MaxElements)
			return nil
		}
		// The values read so far, and their copy into the feature matrix.
		if len(lines)%1024 == 0 && !l.fits(budget.Floats(2, int64(len(lines)+1024), int64(ncol)), fmt.Sprintf("%s: %d rows × %d columns read so far", path, len(lines)+1024, ncol)) {
			return nil
		}
		for j, cell := range rec {
			v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				_, col := cr.FieldPos(j)
				l.errf(CodeCSVCell, rg, "Every cell must be a number: remove text columns (names, dates, categories) first.", "%s: line %d, field %d (column %d): %q is not a number", path, line, j+1, col, cell)
				return nil
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				_, col := cr.FieldPos(j)
				l.errf(CodeNonFinite, rg, "Data must be finite; remove or impute missing values first.", "%s: line %d, field %d (column %d): non-finite value %q", path, line, j+1, col, cell)
				return nil
			}
			if j == label {
				ys = append(ys, v)
			} else {
				xs = append(xs, v)
			}
		}
		lines = append(lines, line)
	}
	n := len(lines)
	if n == 0 {
		l.errf(CodeEmpty, rg, "", "%s: no data rows", path)
		return nil
	}
	p, yc := ncol-1, 1
	if unlabeled {
		p, yc = ncol, 0
		return &raw{
			n: n, shape: []int{p}, feat: &f64rows{p: p, v: xs},
			where:  func(i int) string { return fmt.Sprintf("%s line %d", path, lines[i]) },
			source: fmt.Sprintf("csv %s (%d rows, no label column)", path, n),
		}
	}
	return &raw{
		n:      n,
		shape:  []int{p},
		feat:   &f64rows{p: p, v: xs},
		y:      ys,
		yc:     yc,
		where:  func(i int) string { return fmt.Sprintf("%s line %d", path, lines[i]) },
		source: fmt.Sprintf("csv %s (%d rows, label column %d)", path, n, label),
	}
}

// MaxCSVLine is the longest CSV line the reader accepts (4 MiB, some 400 000
// numbers): more than any sample needs, and it stops a file without line ends
// after 4 MiB, not after the whole file. (encoding/csv still splits the partial
// line into fields before it reports the error, so the limit also bounds that
// memory: about 25 bytes per field.)
const MaxCSVLine = 4 << 20

var errLineTooLong = errors.New("line too long")

// lineLimit passes r through, failing with errLineTooLong once a line exceeds max
// bytes; it counts lines (for messages), reports progress and honours ctx.
type lineLimit struct {
	r    io.Reader
	max  int64
	cur  int64 // bytes of the current line
	line int   // 1-based line number of the current line
	task *progress.Task
	ctx  context.Context
	n    int
}

func (l *lineLimit) Read(p []byte) (int, error) {
	if l.line == 0 {
		l.line = 1
	}
	if l.ctx != nil {
		if err := l.ctx.Err(); err != nil {
			return 0, err
		}
	}
	k, err := l.r.Read(p)
	for _, b := range p[:k] {
		if b == '\n' {
			l.cur = 0
			l.line++
			continue
		}
		l.cur++
		if l.cur > l.max {
			return 0, errLineTooLong
		}
	}
	l.task.Add(int64(k))
	return k, err
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return q
}
