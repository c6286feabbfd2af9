package cbf

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Cone is one cone of a VAR or CON list: its CBF name ("F", "L=", "L+", "L-",
// "Q", "QR", "EXP", "EXP*", "@k:POW", "@k:POW*") and its size.
type Cone struct {
	Kind string
	Size int
}

// Entry is a coefficient: ACOORD (I = row, J = variable), OBJACOORD (J) or
// BCOORD (I).
type Entry struct {
	I, J int
	V    float64
}

// PSDEntry is an HCOORD (Con, Var, I, J) or DCOORD (Con, I, J) coefficient.
type PSDEntry struct {
	Con, Var, I, J int
	V              float64
}

// Parsed is the content of a CBF file, as read by Read.
type Parsed struct {
	Version      int
	Sense        string
	PowCones     [][]float64
	DualPowCones [][]float64
	NumVar       int
	VarCones     []Cone
	NumCon       int
	ConCones     []Cone
	PSDCon       []int
	ObjA         []Entry
	ObjB         float64
	A            []Entry
	B            []Entry
	H            []PSDEntry
	D            []PSDEntry
}

// Read parses a CBF file (the subset Write produces plus L- and PSD-free
// variants: VER, OBJSENSE, POWCONES, POW*CONES, VAR, CON, PSDCON, OBJACOORD,
// OBJBCOORD, ACOORD, BCOORD, HCOORD, DCOORD). Comments (#) and blank lines are
// skipped. Errors give the line number. Indices are checked against VAR, CON
// and PSDCON.
func Read(r io.Reader) (*Parsed, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	line := 0
	next := func() ([]string, error) {
		for sc.Scan() {
			line++
			t := strings.TrimSpace(sc.Text())
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			return strings.Fields(t), nil
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	errf := func(format string, args ...any) error {
		return fmt.Errorf("cbf: line %d: %s", line, fmt.Sprintf(format, args...))
	}
	ints := func(want int) ([]int, error) {
		f, err := next()
		if err != nil {
			return nil, errf("unexpected end of file")
		}
		if len(f) != want {
			return nil, errf("want %d integers, got %q", want, strings.Join(f, " "))
		}
		v := make([]int, want)
		for i, s := range f {
			if v[i], err = strconv.Atoi(s); err != nil || v[i] < 0 {
				return nil, errf("%q is not a non-negative integer", s)
			}
		}
		return v, nil
	}
	// entry reads nint integers then one float.
	entry := func(nint int) ([]int, float64, error) {
		f, err := next()
		if err != nil {
			return nil, 0, errf("unexpected end of file")
		}
		if len(f) != nint+1 {
			return nil, 0, errf("want %d integers and a number, got %q", nint, strings.Join(f, " "))
		}
		v := make([]int, nint)
		for i := range nint {
			if v[i], err = strconv.Atoi(f[i]); err != nil || v[i] < 0 {
				return nil, 0, errf("%q is not a non-negative integer", f[i])
			}
		}
		x, err := strconv.ParseFloat(f[nint], 64)
		if err != nil {
			return nil, 0, errf("%q is not a number", f[nint])
		}
		return v, x, nil
	}
	cones := func() (int, []Cone, error) {
		h, err := ints(2)
		if err != nil {
			return 0, nil, err
		}
		var cs []Cone
		total := 0
		for range h[1] {
			f, err := next()
			if err != nil || len(f) != 2 {
				return 0, nil, errf("want a cone name and size")
			}
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 0 {
				return 0, nil, errf("bad cone size %q", f[1])
			}
			cs = append(cs, Cone{f[0], n})
			total += n
		}
		if total != h[0] {
			return 0, nil, errf("cones cover %d entries, header says %d", total, h[0])
		}
		return h[0], cs, nil
	}
	powcones := func() ([][]float64, error) {
		h, err := ints(2)
		if err != nil {
			return nil, err
		}
		var out [][]float64
		total := 0
		for range h[0] {
			n, err := ints(1)
			if err != nil {
				return nil, err
			}
			a := make([]float64, n[0])
			for i := range a {
				f, err := next()
				if err != nil || len(f) != 1 {
					return nil, errf("want one power cone weight")
				}
				if a[i], err = strconv.ParseFloat(f[0], 64); err != nil {
					return nil, errf("%q is not a number", f[0])
				}
			}
			total += n[0]
			out = append(out, a)
		}
		if total != h[1] {
			return nil, errf("%d weights, header says %d", total, h[1])
		}
		return out, nil
	}
	p := &Parsed{}
	for {
		f, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(f) != 1 {
			return nil, errf("want a keyword, got %q", strings.Join(f, " "))
		}
		key := f[0]
		switch key {
		case "VER":
			v, err := ints(1)
			if err != nil {
				return nil, err
			}
			p.Version = v[0]
		case "OBJSENSE":
			s, err := next()
			if err != nil || len(s) != 1 || (s[0] != "MIN" && s[0] != "MAX") {
				return nil, errf("OBJSENSE must be MIN or MAX")
			}
			p.Sense = s[0]
		case "POWCONES":
			if p.PowCones, err = powcones(); err != nil {
				return nil, err
			}
		case "POW*CONES":
			if p.DualPowCones, err = powcones(); err != nil {
				return nil, err
			}
		case "VAR":
			if p.NumVar, p.VarCones, err = cones(); err != nil {
				return nil, err
			}
		case "CON":
			if p.NumCon, p.ConCones, err = cones(); err != nil {
				return nil, err
			}
		case "PSDCON":
			n, err := ints(1)
			if err != nil {
				return nil, err
			}
			for range n[0] {
				d, err := ints(1)
				if err != nil {
					return nil, err
				}
				p.PSDCon = append(p.PSDCon, d[0])
			}
		case "OBJBCOORD":
			s, err := next()
			if err != nil || len(s) != 1 {
				return nil, errf("OBJBCOORD needs one number")
			}
			if p.ObjB, err = strconv.ParseFloat(s[0], 64); err != nil {
				return nil, errf("%q is not a number", s[0])
			}
		case "OBJACOORD", "ACOORD", "BCOORD", "HCOORD", "DCOORD":
			n, err := ints(1)
			if err != nil {
				return nil, err
			}
			nint := map[string]int{"OBJACOORD": 1, "ACOORD": 2, "BCOORD": 1, "HCOORD": 4, "DCOORD": 3}[key]
			for range n[0] {
				v, x, err := entry(nint)
				if err != nil {
					return nil, err
				}
				switch key {
				case "OBJACOORD":
					if v[0] >= p.NumVar {
						return nil, errf("variable %d out of range (VAR has %d)", v[0], p.NumVar)
					}
					p.ObjA = append(p.ObjA, Entry{J: v[0], V: x})
				case "ACOORD":
					if v[0] >= p.NumCon || v[1] >= p.NumVar {
						return nil, errf("entry (%d, %d) out of range (%d constraints, %d variables)", v[0], v[1], p.NumCon, p.NumVar)
					}
					p.A = append(p.A, Entry{I: v[0], J: v[1], V: x})
				case "BCOORD":
					if v[0] >= p.NumCon {
						return nil, errf("constraint %d out of range (CON has %d)", v[0], p.NumCon)
					}
					p.B = append(p.B, Entry{I: v[0], V: x})
				case "HCOORD":
					if v[0] >= len(p.PSDCon) || v[1] >= p.NumVar || v[2] >= p.PSDCon[v[0]] || v[3] > v[2] {
						return nil, errf("HCOORD entry %v out of range or not in the lower triangle", v)
					}
					p.H = append(p.H, PSDEntry{Con: v[0], Var: v[1], I: v[2], J: v[3], V: x})
				case "DCOORD":
					if v[0] >= len(p.PSDCon) || v[1] >= p.PSDCon[v[0]] || v[2] > v[1] {
						return nil, errf("DCOORD entry %v out of range or not in the lower triangle", v)
					}
					p.D = append(p.D, PSDEntry{Con: v[0], I: v[1], J: v[2], V: x})
				}
			}
		default:
			return nil, errf("unknown keyword %q", key)
		}
	}
	if p.Version == 0 {
		return nil, fmt.Errorf("cbf: no VER section")
	}
	return p, nil
}
