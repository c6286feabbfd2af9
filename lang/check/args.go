package check

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/syntax"
)

// Limits on sizes, so that shape arithmetic never overflows.
const (
	maxDim  = 1 << 24 // any one dimension, kernel, stride or padding
	maxSize = 1 << 40 // the number of scalars in one sample's activations
)

// argSet is a statement's arguments split into positional values and keys.
type argSet struct {
	pos []*syntax.Value
	kv  map[string]*syntax.Arg
}

func (a *argSet) get(key string) *syntax.Value {
	if arg := a.kv[key]; arg != nil {
		return arg.Value
	}
	return nil
}

// args splits st's arguments, reporting unknown keys (with suggestions), duplicate
// keys and positional values written after a key=value.
func (c *checker) args(what string, args []*syntax.Arg, allowed []string) *argSet {
	out := &argSet{kv: map[string]*syntax.Arg{}}
	sawKey := false
	for _, a := range args {
		if a.Key == "" {
			if sawKey {
				c.errorf("C0115", a.Range, "Write positional values first, then key=value pairs: `keyword value... key=value...`.",
					"positional value after key=value in %s", what)
			}
			out.pos = append(out.pos, a.Value)
			continue
		}
		sawKey = true
		if !contains(allowed, a.Key) {
			d := c.errorf("C0110", a.KeyRange, allowedText(what, allowed), "unknown key `%s` in %s", a.Key, what)
			d.Suggest = suggest(a.Key, allowed)
			continue
		}
		if prev := out.kv[a.Key]; prev != nil {
			d := c.errorf("C0111", a.Range, "Each key may be given once; delete one of them.", "duplicate key `%s` in %s", a.Key, what)
			d.Related = append(d.Related, diag.Related{Message: "first given here", Range: prev.Range})
			continue
		}
		out.kv[a.Key] = a
	}
	return out
}

func allowedText(what string, allowed []string) string {
	if len(allowed) == 0 {
		return fmt.Sprintf("%s takes no key=value options.", upper(what))
	}
	q := make([]string, len(allowed))
	for i, k := range allowed {
		q[i] = "`" + k + "`"
	}
	return fmt.Sprintf("The keys of %s are %s.", what, strings.Join(q, ", "))
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// describe names a value for messages: "shape 3x3", "string \"a\"".
func describe(v *syntax.Value) string {
	switch v.Kind {
	case syntax.Ident:
		if v.IsBool() {
			return "`" + v.Text + "`"
		}
		return "identifier `" + v.Text + "`"
	case syntax.List:
		return "a list"
	}
	return v.Kind.String() + " " + v.Raw
}

// integer parses v as an integer in [lo, maxDim]; on failure it reports and
// returns false. what names the value ("stride of conv").
func (c *checker) integer(v *syntax.Value, what string, lo int) (int, bool) {
	return c.integerIn(v, what, lo, maxDim)
}

// integerIn parses v as an integer in [lo, hi].
func (c *checker) integerIn(v *syntax.Value, what string, lo, hi int) (int, bool) {
	if v.Kind != syntax.Number {
		c.errorf("C0113", v.Range, fmt.Sprintf("Write %s as a whole number, e.g. `%d`.", what, max(lo, 1)),
			"%s must be an integer, found %s", what, describe(v))
		return 0, false
	}
	f, err := strconv.ParseFloat(v.Raw, 64)
	if err != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
		c.errorf("C0113", v.Range, fmt.Sprintf("Write %s as a whole number, e.g. `%d`.", what, max(lo, 1)),
			"%s must be an integer, found %s", what, v.Raw)
		return 0, false
	}
	if f < float64(lo) {
		c.errorf("C0114", v.Range, fmt.Sprintf("%s must be at least %d.", upper(what), lo),
			"%s must be ≥ %d, found %s", what, lo, v.Raw)
		return 0, false
	}
	if f > float64(hi) {
		c.errorf("C0114", v.Range, fmt.Sprintf("%s is limited to %d.", upper(what), hi),
			"%s is too large: %s", what, v.Raw)
		return 0, false
	}
	return int(f), true
}

// number parses v as a finite number.
func (c *checker) number(v *syntax.Value, what string) (float64, bool) {
	if v.Kind == syntax.Number {
		f, err := strconv.ParseFloat(v.Raw, 64)
		if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, true
		}
		c.errorf("C0114", v.Range, "Numbers must be finite double-precision values.", "%s is out of range: %s", what, v.Raw)
		return 0, false
	}
	c.errorf("C0113", v.Range, fmt.Sprintf("Write %s as a number, e.g. `1e-3`.", what),
		"%s must be a number, found %s", what, describe(v))
	return 0, false
}

// boolean parses v as true or false.
func (c *checker) boolean(v *syntax.Value, what string) (bool, bool) {
	if v.IsBool() {
		return v.Text == "true", true
	}
	d := c.errorf("C0113", v.Range, fmt.Sprintf("Write %s as `true` or `false`.", what),
		"%s must be true or false, found %s", what, describe(v))
	d.Suggest = suggest(v.Text, []string{"true", "false"})
	return false, false
}

// str parses v as a string.
func (c *checker) str(v *syntax.Value, what string) (string, bool) {
	if v.Kind == syntax.String {
		return v.Text, true
	}
	c.errorf("C0113", v.Range, fmt.Sprintf("Write %s as a double-quoted string, e.g. `\"data.csv\"`.", what),
		"%s must be a string, found %s", what, describe(v))
	return "", false
}

// dims parses v as nd spatial sizes: a shape with nd entries, or (for nd == 1, or
// when square is true) a single number repeated. Entries must be ≥ lo.
func (c *checker) dims(v *syntax.Value, what string, nd, lo int, square bool) ([]int, bool) {
	switch v.Kind {
	case syntax.Number:
		n, ok := c.integer(v, what, lo)
		if !ok {
			return nil, false
		}
		if nd != 1 && !square {
			d := c.errorf("C0208", v.Range, fmt.Sprintf("The input of this layer has %d spatial dimensions, so %s needs %d sizes joined by `x`.", nd, what, nd),
				"%s needs %d sizes for a %d-D input, found %s", what, nd, nd, v.Raw)
			d.Suggest = strings.TrimSuffix(strings.Repeat(v.Raw+"x", nd), "x")
			return nil, false
		}
		out := make([]int, nd)
		for i := range out {
			out[i] = n
		}
		return out, true
	case syntax.Shape:
		if len(v.Dims) != len(strings.Split(v.Raw, "x")) {
			c.errorf("C0114", v.Range, "", "%s is too large: %s", what, v.Raw)
			return nil, false
		}
		if len(v.Dims) != nd {
			detail := fmt.Sprintf("The input of this layer has %d spatial dimension(s), so %s needs %d size(s).", nd, what, nd)
			d := c.errorf("C0208", v.Range, detail, "%s %s has %d sizes, the input has %d spatial dimension(s)", what, v.Raw, len(v.Dims), nd)
			if nd == 1 {
				d.Suggest = strconv.Itoa(v.Dims[0])
			}
			return nil, false
		}
		for _, n := range v.Dims {
			if n < lo || n > maxDim {
				c.errorf("C0114", v.Range, fmt.Sprintf("Every size in %s must be between %d and %d.", what, lo, maxDim),
					"%s %s has a size out of range", what, v.Raw)
				return nil, false
			}
		}
		return append([]int(nil), v.Dims...), true
	}
	c.errorf("C0113", v.Range, fmt.Sprintf("Write %s as a number or a shape such as `3x3`.", what),
		"%s must be a size, found %s", what, describe(v))
	return nil, false
}

// suggest returns the candidate nearest to s by edit distance, if close enough.
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	ls := strings.ToLower(s)
	for _, cand := range candidates {
		d := editDistance(ls, strings.ToLower(cand))
		if strings.HasPrefix(cand, ls) && len(ls) >= 3 {
			d = min(d, 1)
		}
		if d < bestD || d == bestD && cand < best {
			best, bestD = cand, d
		}
	}
	limit := max(1, (len(s)+1)/3)
	if bestD <= limit && bestD > 0 || bestD == 0 && best != s {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance (insert, delete, substitute, and
// transposition of adjacent bytes, each costing 1).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := 0; j <= len(b); j++ {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
