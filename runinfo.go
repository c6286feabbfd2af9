package cnnc

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"time"

	"github.com/cnnc-org/cnnc/compiler/train"
	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/dataset"
)

// SolveSettings is report.json's "settings": what the run was asked to do, with
// defaults resolved.
type SolveSettings struct {
	Solver           string   `json:"solver"`             // the train block's solver, or SolveOptions.Solver
	Tol              float64  `json:"tol"`                // tolerance the solver was given
	MaxIters         *int     `json:"max_iters"`          // iteration cap; null: the solver's default
	TimeLimitSeconds *float64 `json:"time_limit_seconds"` // SolveOptions.TimeLimit; null: none
	MaxMemoryBytes   *int64   `json:"max_memory_bytes"`   // the memory budget; null: none
}

// stampReport fills the fields that identify the run (all but WeightsSHA256);
// dataHash is DataHash(p.Data).
func (p *Problem) stampReport(r *Report, out *train.Outcome, opts SolveOptions, dataHash string) {
	r.Created = time.Now().UTC().Format(time.RFC3339)
	r.Input = p.Path
	if f := p.Sources[p.Path]; f != nil {
		r.InputSHA256 = sha256Hex(f.Src)
	}
	r.DataSHA256 = dataHash
	s := out.Settings
	r.Settings.Solver = opts.Solver
	if r.Settings.Solver == "" {
		r.Settings.Solver = p.Train.Solver.Name
	}
	r.Settings.Tol = s.Tol
	if s.MaxIters > 0 {
		mi := s.MaxIters
		r.Settings.MaxIters = &mi
	}
	if opts.TimeLimit > 0 {
		sec := opts.TimeLimit.Seconds()
		r.Settings.TimeLimitSeconds = &sec
	}
	if b := budget.Resolve(p.Opts.MaxMemory); b < math.MaxInt64 {
		r.Settings.MaxMemoryBytes = &b
	}
}

// Files serialises the result as the two files of an output folder: weights.json,
// then report.json with weights_sha256 set to the hash of those bytes, so the
// report binds the weights written beside it.
func (r *Result) Files() (weights, report []byte, err error) {
	var wb, rb bytes.Buffer
	if err := r.Weights.Write(&wb); err != nil {
		return nil, nil, err
	}
	r.Report.WeightsSHA256 = sha256Hex(wb.Bytes())
	if err := r.Report.Write(&rb); err != nil {
		return nil, nil, err
	}
	return wb.Bytes(), rb.Bytes(), nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// DataHash is the SHA-256 of a loaded data set: its sample, feature and target
// counts as little-endian uint64, then X and then Y row by row as little-endian
// float64 — the numbers the program was built from, after every transform
// (classes, limit, scale, standardize), whatever the source. "" for nil.
func DataHash(ds *dataset.Dataset) string {
	if ds == nil || ds.X == nil || ds.Y == nil {
		return ""
	}
	h := sha256.New()
	n, p := ds.X.Dims()
	_, c := ds.Y.Dims()
	var b [8]byte
	for _, v := range []int{n, p, c} {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	}
	buf := make([]byte, 0, 8*max(p, c))
	for _, m := range []interface {
		RawRowView(int) []float64
	}{ds.X, ds.Y} {
		for i := 0; i < n; i++ {
			buf = buf[:0]
			for _, v := range m.RawRowView(i) {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
			}
			h.Write(buf)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
