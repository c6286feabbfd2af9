package conic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// JSONFormat is the value of the "format" key of `cnnc export --format json`
// (docs/exports.md, "--format json").
const JSONFormat = "cnnc-conic/1"

// The JSON layout. Field order here is the order in the file.
type jsonCSC struct {
	ColPtr []int     `json:"colptr"`
	RowIdx []int     `json:"rowidx"`
	Values []float64 `json:"values"`
}

// jsonBound is a box cone bound: a number, or the strings "inf" / "-inf"
// (JSON has no infinities; SCS allows infinite box bounds).
type jsonBound float64

func (b jsonBound) MarshalJSON() ([]byte, error) {
	f := float64(b)
	switch {
	case math.IsInf(f, 1):
		return []byte(`"inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-inf"`), nil
	case math.IsNaN(f):
		return nil, errors.New("box cone bound is NaN")
	}
	return json.Marshal(f)
}

func (b *jsonBound) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case `"inf"`, `"+inf"`, `"Infinity"`:
		*b = jsonBound(math.Inf(1))
		return nil
	case `"-inf"`, `"-Infinity"`:
		*b = jsonBound(math.Inf(-1))
		return nil
	}
	var f float64
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("box cone bound %s is neither a number nor \"inf\"/\"-inf\"", data)
	}
	*b = jsonBound(f)
	return nil
}

type jsonCones struct {
	Z     int         `json:"z"`
	L     int         `json:"l"`
	BSize int         `json:"bsize,omitempty"`
	BL    []jsonBound `json:"bl,omitempty"`
	BU    []jsonBound `json:"bu,omitempty"`
	Q     []int       `json:"q"`
	S     []int       `json:"s"`
	CS    []int       `json:"cs,omitempty"`
	EP    int         `json:"ep"`
	ED    int         `json:"ed"`
	P     []float64   `json:"p,omitempty"`
}

// jsonIn is what ReadJSON decodes; pointers detect missing required keys.
type jsonIn struct {
	Format    *string    `json:"format"`
	ObjOffset float64    `json:"objective_offset"`
	ObjScale  *float64   `json:"objective_scale"`
	Cones     *jsonCones `json:"cones"`
	M         *int       `json:"m"`
	N         *int       `json:"n"`
	B         []float64  `json:"b"`
	C         []float64  `json:"c"`
	A         *jsonCSC   `json:"A"`
	P         *jsonCSC   `json:"P"`
	Variables []VarRange `json:"variables"`
}

// WriteJSON writes p as one JSON object in the `--format json` layout of
// docs/exports.md:
//
//	{"format": "cnnc-conic/1", "objective_offset", "objective_scale",
//	 "cones": {z, l, [bsize, bl, bu,] q, s, [cs,] ep, ed, [p]}, "m", "n", "b", "c",
//	 "A": {colptr, rowidx, values}, "P": null | {colptr, rowidx, values},
//	 "variables": [{name, start, len, shape, layer}]}
//
// One top-level key per line, each value compact. The output is a deterministic
// function of p, and float64 values are written in Go's shortest round-trip form,
// so ReadJSON(WriteJSON(p)) reproduces every bit. objective_scale is written
// as p.Scale() (1 when unset). Box bounds ±∞ are written as "inf"/"-inf"; any
// other non-finite number is an error, as is a p that fails Validate.
func WriteJSON(w io.Writer, p *Problem) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("json export: %v", err)
	}
	if err := finite("objective_offset", []float64{p.ObjOffset}); err != nil {
		return err
	}
	if err := finite("objective_scale", []float64{p.ObjScale}); err != nil {
		return err
	}
	for _, v := range []struct {
		name string
		x    []float64
	}{{"b", p.B}, {"c", p.C}, {"A.values", p.A.Val}, {"cones.p", p.Cones.P}} {
		if err := finite(v.name, v.x); err != nil {
			return err
		}
	}
	if p.P != nil {
		if err := finite("P.values", p.P.Val); err != nil {
			return err
		}
	}
	k := &p.Cones
	cones := jsonCones{Z: k.Z, L: k.L, BSize: k.BSize, Q: nonNil(k.Q), S: nonNil(k.S), CS: k.CS, EP: k.EP, ED: k.ED, P: k.P}
	for _, v := range k.BL {
		cones.BL = append(cones.BL, jsonBound(v))
	}
	for _, v := range k.BU {
		cones.BU = append(cones.BU, jsonBound(v))
	}
	vars := p.Vars
	if vars == nil {
		vars = []VarRange{}
	}
	// Large arrays are streamed (floats formatted exactly as encoding/json does), so
	// writing needs no memory beyond the problem itself; the small fields go
	// through json.Marshal.
	bw := bufio.NewWriterSize(w, 1<<16)
	fields := []struct {
		key string
		val any
	}{
		{"format", JSONFormat},
		{"objective_offset", p.ObjOffset},
		{"objective_scale", p.Scale()},
		{"cones", cones},
		{"m", p.M},
		{"n", p.N},
		{"b", nonNilF(p.B)},
		{"c", nonNilF(p.C)},
		{"A", &p.A},
		{"P", p.P},
		{"variables", vars},
	}
	bw.WriteString("{\n")
	var num []byte
	for i, f := range fields {
		fmt.Fprintf(bw, "%q: ", f.key)
		switch v := f.val.(type) {
		case []float64:
			num = streamFloats(bw, v, num)
		case *CSC:
			if v == nil {
				bw.WriteString("null")
				break
			}
			bw.WriteString(`{"colptr":`)
			num = streamInts(bw, nonNil(v.ColPtr), num)
			bw.WriteString(`,"rowidx":`)
			num = streamInts(bw, nonNil(v.RowIdx), num)
			bw.WriteString(`,"values":`)
			num = streamFloats(bw, nonNilF(v.Val), num)
			bw.WriteString("}")
		default:
			b, err := json.Marshal(f.val)
			if err != nil {
				return fmt.Errorf("json export: %s: %v", f.key, err)
			}
			bw.Write(b)
		}
		if i < len(fields)-1 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// streamFloats writes x as a JSON array, each number as encoding/json formats a
// float64 (finite values only: WriteJSON checks them first); buf is scratch space.
func streamFloats(w *bufio.Writer, x []float64, buf []byte) []byte {
	w.WriteByte('[')
	for i, f := range x {
		if i > 0 {
			w.WriteByte(',')
		}
		buf = appendJSONFloat(buf[:0], f)
		w.Write(buf)
	}
	w.WriteByte(']')
	return buf
}

func streamInts(w *bufio.Writer, x []int, buf []byte) []byte {
	w.WriteByte('[')
	for i, v := range x {
		if i > 0 {
			w.WriteByte(',')
		}
		buf = strconv.AppendInt(buf[:0], int64(v), 10)
		w.Write(buf)
	}
	w.WriteByte(']')
	return buf
}

// appendJSONFloat formats f as encoding/json does (ES6 number formatting: 'f' unless
// |f| < 1e-6 or ≥ 1e21, then 'e' with a one-digit negative exponent unpadded).
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// ReadJSON reads a problem written by WriteJSON (or by hand in the same layout).
// Unknown keys, a missing or different "format", missing required keys
// (cones, m, n, b, c, A), non-numeric values and any violation of Validate are
// errors that say where (line:column for JSON syntax and type errors) and what.
// A missing objective_scale means 1; a missing P or "P": null means no quadratic
// term; a missing variables table means none.
func ReadJSON(r io.Reader) (*Problem, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in jsonIn
	if err := dec.Decode(&in); err != nil {
		return nil, jsonErr(data, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: unexpected data after the JSON object", lineCol(data, dec.InputOffset()))
	}
	if in.Format == nil {
		return nil, fmt.Errorf("missing \"format\" key (want %q)", JSONFormat)
	}
	if *in.Format != JSONFormat {
		return nil, fmt.Errorf("format is %q, this reader understands %q", *in.Format, JSONFormat)
	}
	var missing []string
	if in.Cones == nil {
		missing = append(missing, "cones")
	}
	if in.M == nil {
		missing = append(missing, "m")
	}
	if in.N == nil {
		missing = append(missing, "n")
	}
	if in.B == nil {
		missing = append(missing, "b")
	}
	if in.C == nil {
		missing = append(missing, "c")
	}
	if in.A == nil {
		missing = append(missing, "A")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing required keys: %v", missing)
	}
	if *in.M < 0 || *in.N < 0 {
		return nil, fmt.Errorf("negative dimensions m=%d, n=%d", *in.M, *in.N)
	}
	k := in.Cones
	p := &Problem{
		M: *in.M, N: *in.N, B: in.B, C: in.C, ObjOffset: in.ObjOffset,
		A:     CSC{M: *in.M, N: *in.N, ColPtr: in.A.ColPtr, RowIdx: in.A.RowIdx, Val: in.A.Values},
		Cones: Cones{Z: k.Z, L: k.L, BSize: k.BSize, Q: k.Q, S: k.S, CS: k.CS, EP: k.EP, ED: k.ED, P: k.P},
		Vars:  in.Variables,
	}
	if in.ObjScale != nil {
		p.ObjScale = *in.ObjScale
	}
	for _, v := range k.BL {
		p.Cones.BL = append(p.Cones.BL, float64(v))
	}
	for _, v := range k.BU {
		p.Cones.BU = append(p.Cones.BU, float64(v))
	}
	if in.P != nil {
		p.P = &CSC{M: *in.N, N: *in.N, ColPtr: in.P.ColPtr, RowIdx: in.P.RowIdx, Val: in.P.Values}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	for i, v := range p.Vars {
		if v.Start < 0 || v.Len < 0 || v.Start+v.Len > p.N {
			return nil, fmt.Errorf("variables[%d] (%q): columns [%d, %d) outside [0, %d)", i, v.Name, v.Start, v.Start+v.Len, p.N)
		}
	}
	return p, nil
}

func nonNil(x []int) []int {
	if x == nil {
		return []int{}
	}
	return x
}

func nonNilF(x []float64) []float64 {
	if x == nil {
		return []float64{}
	}
	return x
}

func finite(name string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("json export: %s[%d] is %v, which JSON cannot represent", name, i, v)
		}
	}
	return nil
}

// jsonErr turns encoding/json's errors into messages with line:column.
func jsonErr(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%s: JSON syntax error: %v", lineCol(data, se.Offset), se)
	case errors.As(err, &te):
		return fmt.Errorf("%s: key %q: got JSON %s, want %v", lineCol(data, te.Offset), te.Field, te.Value, te.Type)
	case errors.Is(err, io.EOF):
		return errors.New("empty input: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: unexpected end of input", lineCol(data, int64(len(data))))
	}
	return err
}

// lineCol renders a byte offset as 1-based "line L, column C".
func lineCol(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}
