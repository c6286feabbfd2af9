package budget

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMulAddSaturate(t *testing.T) {
	if got := Mul(1<<40, 1<<40); got != math.MaxInt64 {
		t.Errorf("Mul overflow = %d, want MaxInt64", got)
	}
	if got := Mul(3, 4, 5); got != 60 {
		t.Errorf("Mul(3,4,5) = %d", got)
	}
	if got := Mul(3, -1); got != 0 {
		t.Errorf("Mul with a negative factor = %d, want 0", got)
	}
	if got := Add(math.MaxInt64-1, 5); got != math.MaxInt64 {
		t.Errorf("Add overflow = %d", got)
	}
	if got := Floats(10000000, 10000000, 10000000); got != math.MaxInt64 {
		t.Errorf("Floats overflow = %d", got)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KiB"}, {1536, "1.5 KiB"}, {26 << 30, "26 GiB"}, {300 << 30, "300 GiB"}, {math.MaxInt64, "more than 8 EiB"}} {
		if got := Format(c.n); got != c.want {
			t.Errorf("Format(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int64
	}{{"1024", 1024}, {"8GiB", 8 << 30}, {"8G", 8 << 30}, {"512 MiB", 512 << 20}, {"1.5k", 1536}, {"none", -1}} {
		got, err := Parse(c.s)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.s, got, err, c.want)
		}
	}
	for _, s := range []string{"", "0", "-5G", "8 parsecs", "1e400", "NaN", "0%", "150%"} {
		if v, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", s, v)
		}
	}
	if Physical() > 0 {
		v, err := Parse("50%")
		if err != nil || v != Physical()/2 {
			t.Errorf("Parse(50%%) = %d, %v; want %d", v, err, Physical()/2)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := Check(1000, 999, "x", ""); err != nil {
		t.Errorf("under budget: %v", err)
	}
	err := Check(1000, 1001, "patch matrix", "Lower the padding.")
	tl := AsTooLarge(err)
	if tl == nil || tl.Need != 1001 || tl.Budget != 1000 {
		t.Fatalf("over budget: %v", err)
	}
	if !strings.Contains(err.Error(), "patch matrix needs about 1001 B") || !strings.Contains(tl.Detail(), "--max-memory") {
		t.Errorf("message %q / %q", err, tl.Detail())
	}
	if err := Check(-1, math.MaxInt64, "x", ""); err != nil {
		t.Errorf("no budget refused: %v", err)
	}
	if Resolve(0) != Default() || Default() <= 0 {
		t.Errorf("Resolve(0) = %d, Default() = %d", Resolve(0), Default())
	}
}

func TestReadMemTotal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(p, []byte("MemFree:  10 kB\nMemTotal:       24683748 kB\n"), 0o644)
	if got := readMemTotal(p); got != 24683748*1024 {
		t.Errorf("readMemTotal = %d", got)
	}
	if got := readMemTotal(filepath.Join(t.TempDir(), "absent")); got != 0 {
		t.Errorf("absent file: %d", got)
	}
}
