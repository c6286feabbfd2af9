package network

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// Read decodes a weights.json, checks its format tag and validates it (Finalize).
func Read(r io.Reader) (*Weights, error) {
	var w Weights
	dec := json.NewDecoder(r)
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("weights.json: %v", err)
	}
	if w.Format != Format {
		return nil, fmt.Errorf("weights.json: format %q, want %q", w.Format, Format)
	}
	if err := w.Finalize(); err != nil {
		return nil, err
	}
	if err := w.CheckPreprocess(); err != nil {
		return nil, fmt.Errorf("weights.json: %v", err)
	}
	return &w, nil
}

// ReadFile reads and validates the weights.json at path; errors name the file.
func ReadFile(path string) (*Weights, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w, err := Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return w, nil
}

// Write finalizes w and writes it as JSON: the header fields, then one layer and one
// tensor per line. Numbers use strconv 'g' with the shortest exact precision (−1), so
// Read(Write(w)) reproduces every float bit for bit. Non-finite values are an error.
func (w *Weights) Write(out io.Writer) error {
	if err := w.Finalize(); err != nil {
		return err
	}
	if err := checkFinite("beta", []float64{w.Beta}); err != nil {
		return err
	}
	var b bytes.Buffer
	str := func(s string) string { q, _ := json.Marshal(s); return string(q) }
	fmt.Fprintf(&b, "{\n  \"format\": %s,\n  \"model\": %s,\n  \"beta\": %s,\n  \"loss\": %s,\n",
		str(w.Format), str(w.Model), num(w.Beta), str(w.Loss))
	if w.Regularizer != "" {
		fmt.Fprintf(&b, "  \"regularizer\": %s,\n", str(w.Regularizer))
	}
	if w.Preprocess != nil {
		if err := w.CheckPreprocess(); err != nil {
			return err
		}
		line, err := json.Marshal(w.Preprocess)
		if err != nil {
			return err
		}
		b.WriteString("  \"preprocess\": ")
		b.Write(line)
		b.WriteString(",\n  \"layers\": [\n")
	} else {
		b.WriteString("  \"layers\": [\n")
	}
	for i, l := range w.Layers {
		if l.Fixed != nil {
			if err := checkFinite(fmt.Sprintf("layer %d fixed", l.Index), []float64{*l.Fixed}); err != nil {
				return err
			}
		}
		line, err := json.Marshal(l)
		if err != nil {
			return err
		}
		b.WriteString("    ")
		b.Write(line)
		if i < len(w.Layers)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("  ],\n  \"tensors\": [\n")
	for i, t := range w.Tensors {
		if err := checkFinite(t.Name, t.Data); err != nil {
			return err
		}
		fmt.Fprintf(&b, "    {\"name\": %s, \"shape\": [", str(t.Name))
		for k, v := range t.Shape {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(v))
		}
		fmt.Fprintf(&b, "], \"penalty\": %s", str(t.Penalty))
		if t.Groups != 0 {
			fmt.Fprintf(&b, ", \"groups\": %d", t.Groups)
		}
		b.WriteString(", \"data\": [")
		for k, v := range t.Data {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString(num(v))
		}
		b.WriteString("]}")
		if i < len(w.Tensors)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("  ]\n}\n")
	_, err := out.Write(b.Bytes())
	return err
}

// WriteFile writes w to path atomically (a temporary file in the same folder, renamed).
func (w *Weights) WriteFile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".weights-*.json")
	if err != nil {
		return err
	}
	tmp := f.Name()
	bw := bufio.NewWriter(f)
	err = w.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func checkFinite(what string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s[%d] = %v cannot be written to JSON", what, i, x)
		}
	}
	return nil
}

// intList decodes a JSON number or an array of numbers (docs/cli.md's example writes
// "padding": 0 for a 2-D conv; one number stands for every spatial dimension).
type intList []int

func (l *intList) UnmarshalJSON(b []byte) error {
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*l = intList{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want an integer or a list of integers, got %s", b)
	}
	*l = many
	return nil
}

// UnmarshalJSON accepts kernel, stride and padding as one integer or a list.
func (l *Layer) UnmarshalJSON(b []byte) error {
	type plain Layer
	var aux struct {
		plain
		Kernel  intList `json:"kernel"`
		Stride  intList `json:"stride"`
		Padding intList `json:"padding"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*l = Layer(aux.plain)
	l.Kernel, l.Stride, l.Padding = aux.Kernel, aux.Stride, aux.Padding
	return nil
}
