package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"time"

	"github.com/cnnc-org/cnnc/budget"
	"github.com/cnnc-org/cnnc/compiler/train"
	"github.com/cnnc-org/cnnc/lang/dataset"
)

// solveSettings is report.json's "settings": what the run was asked to do, with
// defaults resolved.
type solveSettings struct {
	Solver           string   `json:"solver"`             // the train block's solver, or --solver
	Tol              float64  `json:"tol"`                // tolerance the solver was given
	MaxIters         *int     `json:"max_iters"`          // iteration cap; null: the solver's default
	TimeLimitSeconds *float64 `json:"time_limit_seconds"` // --time-limit; null: none
	MaxMemoryBytes   *int64   `json:"max_memory_bytes"`   // the memory budget; null: none
}

// stampReport fills the fields that identify the run.
func stampReport(r *report, p *prepared, out *train.Outcome, o *solveOptions, weights []byte) {
	r.Created = time.Now().UTC().Format(time.RFC3339)
	r.Input = p.file.Path
	if f := p.srcs[p.file.Path]; f != nil {
		r.InputSHA256 = sha256Hex(f.Src)
	}
	r.DataSHA256 = dataHash(p.train)
	r.WeightsSHA256 = sha256Hex(weights)
	s := out.Settings
	r.Settings.Solver = o.solver
	if r.Settings.Solver == "" {
		r.Settings.Solver = p.file.Train.Solver.Name
	}
	r.Settings.Tol = s.Tol
	if s.MaxIters > 0 {
		r.Settings.MaxIters = &s.MaxIters
	}
	if o.timeLimit > 0 {
		sec := o.timeLimit.Seconds()
		r.Settings.TimeLimitSeconds = &sec
	}
	if b := budget.Resolve(p.in.MaxMemory); b < math.MaxInt64 {
		r.Settings.MaxMemoryBytes = &b
	}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// dataHash is the SHA-256 of a loaded data set: its sample count, feature count
// and target count as little-endian uint64, then X and then Y row by row as
// little-endian float64 — the numbers the program was built from, after every
// transform (classes, limit, scale, standardize), whatever the source.
func dataHash(ds *dataset.Dataset) string {
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
