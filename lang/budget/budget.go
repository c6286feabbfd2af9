// Package budget owns cnnc's memory budget: a byte count that every stage able to
// grow with its input (data readers, patch extraction, pattern sets, arrangement
// enumeration, canonicalisation and exports) compares its size estimate with before
// it allocates, so that a file asking for too much is refused in a second with a
// diagnostic that says the size and what to change, instead of exhausting memory.
//
// # The budget API
//
// A budget is an int64 byte count carried in each stage's options (a field named
// MaxMemory in dataset.Options, derive.Input, patch.Options, pattern.Options,
// canon.Options and the solver settings). Its values mean:
//
//	> 0   the budget in bytes
//	  0   the default: Default(), a fraction (DefaultFraction) of the machine's
//	      physical memory, read once from /proc/meminfo (FallbackBytes when it
//	      cannot be read)
//	< 0   no budget (tests and callers that bound sizes themselves)
//
// Resolve turns a field's value into the bytes to compare with. A stage estimates the
// bytes its dominant allocations will take (Mul and Add saturate instead of
// overflowing, so an absurd request estimates as MaxInt64, never as a negative
// number) and calls Check, which returns nil or a *TooLarge error: the stage's name,
// the estimate, the budget and a hint naming what to change. Callers that know a
// source position (lang/dataset, compiler/derive, cmd/cnnc) turn a *TooLarge into a
// positioned diagnostic with code CodeTooLarge (F0209) — see Diagnose in the
// packages that do so. Format renders byte counts for people ("1.5 GiB").
//
// Estimates count the allocations that grow with the input (matrices, pattern
// columns, output buffers), not the constant overhead of the Go runtime, so a
// stage refused at budget B never allocates more than about B; a stage admitted
// may use a little more than its estimate (buffers, garbage not yet collected).
// The CLI also hands the budget to the Go runtime as its soft memory limit
// (runtime/debug.SetMemoryLimit), so garbage is collected before the budget is
// reached.
//
// The package imports nothing of cnnc, so every layer (lang, backend, compiler,
// cmd) may use it.
package budget

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
)

// CodeTooLarge is the diagnostic code of a stage refused by the budget.
const CodeTooLarge = "F0209"

// DefaultFraction is the share of physical memory the default budget allows.
const DefaultFraction = 0.5

// FallbackBytes is the default budget when physical memory cannot be read: 4 GiB.
const FallbackBytes = 4 << 30

var (
	physOnce sync.Once
	phys     int64
)

// Physical returns the machine's physical memory in bytes (MemTotal of
// /proc/meminfo), or 0 when it cannot be read.
func Physical() int64 {
	physOnce.Do(func() { phys = readMemTotal("/proc/meminfo") })
	return phys
}

func readMemTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb <= 0 {
				return 0
			}
			return Mul(kb, 1024)
		}
	}
	return 0
}

// Default is the default budget: DefaultFraction of Physical(), or FallbackBytes
// when the physical memory is unknown.
func Default() int64 {
	if p := Physical(); p > 0 {
		return int64(float64(p) * DefaultFraction)
	}
	return FallbackBytes
}

// Resolve maps an options field to the budget in bytes: v > 0 as is, 0 the
// Default(), v < 0 no budget (math.MaxInt64).
func Resolve(v int64) int64 {
	switch {
	case v > 0:
		return v
	case v == 0:
		return Default()
	}
	return math.MaxInt64
}

// TooLarge is the error of a stage whose size estimate exceeds the budget.
type TooLarge struct {
	What   string // the stage and its size in words: "patch matrix of 300000 samples × 676 positions × 9 features"
	Need   int64  // estimated bytes
	Budget int64  // the budget in bytes
	Hint   string // what to change, a full sentence
}

func (e *TooLarge) Error() string {
	return fmt.Sprintf("%s needs about %s, more than the memory budget of %s", e.What, Format(e.Need), Format(e.Budget))
}

// Detail is the diagnostic detail: the hint, then how to change the budget.
func (e *TooLarge) Detail() string {
	d := strings.TrimSpace(e.Hint)
	if d != "" {
		d += " "
	}
	return d + "The budget is set with --max-memory (default: half of the machine's memory); raise it only if the machine has the memory to spare."
}

// Check returns a *TooLarge error when need exceeds the budget v (an options
// field value, see Resolve), else nil.
func Check(v, need int64, what, hint string) error {
	b := Resolve(v)
	if need > b {
		return &TooLarge{What: what, Need: need, Budget: b, Hint: hint}
	}
	return nil
}

// AsTooLarge returns the *TooLarge in err's chain, or nil.
func AsTooLarge(err error) *TooLarge {
	var t *TooLarge
	if errors.As(err, &t) {
		return t
	}
	return nil
}

// Mul returns the product of its non-negative arguments, saturating at
// math.MaxInt64 (a negative argument counts as 0).
func Mul(xs ...int64) int64 {
	p := int64(1)
	for _, x := range xs {
		if x <= 0 {
			return 0
		}
		if p > math.MaxInt64/x {
			p = math.MaxInt64
			continue
		}
		p *= x
	}
	return p
}

// Add returns the sum of its non-negative arguments, saturating at math.MaxInt64.
func Add(xs ...int64) int64 {
	s := int64(0)
	for _, x := range xs {
		if x <= 0 {
			continue
		}
		if s > math.MaxInt64-x {
			return math.MaxInt64
		}
		s += x
	}
	return s
}

// Floats is the size of n float64 values, saturating.
func Floats(n ...int64) int64 { return Mul(append(n, 8)...) }

// Format renders a byte count with a binary unit: "512 B", "1.5 KiB", "26 GiB".
func Format(n int64) string {
	if n == math.MaxInt64 {
		return "more than 8 EiB"
	}
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n)
	u := -1
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f %s", v, units[u])
	}
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0"), ".") + " " + units[u]
}

// Parse reads a --max-memory value: a byte count with an optional unit (B, K/KB/KiB,
// M/MB/MiB, G/GB/GiB, T/TB/TiB; the units are binary, 1K = 1024 B), a percentage of
// the physical memory ("40%"), or "none" for no budget (returned as −1). Zero and
// negative sizes are errors.
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "none") {
		return -1, nil
	}
	if pct, ok := strings.CutSuffix(t, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || !(f > 0) || f > 100 {
			return 0, fmt.Errorf("memory budget %q: a percentage is a number in (0, 100]", s)
		}
		p := Physical()
		if p <= 0 {
			return 0, fmt.Errorf("memory budget %q: the physical memory is unknown (no /proc/meminfo); give a size such as 8GiB", s)
		}
		return int64(float64(p) * f / 100), nil
	}
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if mult == 0 || err != nil {
		return 0, fmt.Errorf("memory budget %q: write a size such as 8GiB, 512MiB, 40%% or none", s)
	}
	v := f * mult
	if !(v >= 1) || v >= math.MaxInt64 {
		return 0, fmt.Errorf("memory budget %q must be at least 1 byte and finite", s)
	}
	return int64(v), nil
}
