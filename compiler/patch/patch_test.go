package patch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// naiveConv is an independent reference: PyTorch's Conv2d (cross-correlation) with
// weight W[j][c][s][t] on one sample x (row-major C×H×W), zero padding ph, pw and
// strides sh, sw, written directly from the definition
//
//	out[j, a, b] = Σ_{c,s,t} W[j,c,s,t] · xpad[c, a·sh + s, b·sw + t].
//
// It returns out row-major [m, OH, OW].
func naiveConv(x []float64, C, H, W int, w [][][][]float64, sh, sw, ph, pw int) ([]float64, int, int) {
	m, KH, KW := len(w), len(w[0][0]), len(w[0][0][0])
	pad := func(c, r, q int) float64 {
		r -= ph
		q -= pw
		if r < 0 || r >= H || q < 0 || q >= W {
			return 0
		}
		return x[(c*H+r)*W+q]
	}
	OH := (H+2*ph-KH)/sh + 1
	OW := (W+2*pw-KW)/sw + 1
	out := make([]float64, m*OH*OW)
	for j := 0; j < m; j++ {
		for a := 0; a < OH; a++ {
			for b := 0; b < OW; b++ {
				s := 0.0
				for c := 0; c < C; c++ {
					for di := 0; di < KH; di++ {
						for dj := 0; dj < KW; dj++ {
							s += w[j][c][di][dj] * pad(c, a*sh+di, b*sw+dj)
						}
					}
				}
				out[(j*OH+a)*OW+b] = s
			}
		}
	}
	return out, OH, OW
}

func randWeights(r *rand.Rand, m, C, KH, KW int) ([][][][]float64, *mat.Dense) {
	w := make([][][][]float64, m)
	U := mat.NewDense(C*KH*KW, m, nil) // column j = filter j flattened (c, kh, kw)
	for j := range w {
		w[j] = make([][][]float64, C)
		for c := range w[j] {
			w[j][c] = make([][]float64, KH)
			for s := range w[j][c] {
				w[j][c][s] = make([]float64, KW)
				for t := range w[j][c][s] {
					v := r.NormFloat64()
					w[j][c][s][t] = v
					U.Set((c*KH+s)*KW+t, j, v)
				}
			}
		}
	}
	return w, U
}

func randData(r *rand.Rand, n, f int) *mat.Dense {
	X := mat.NewDense(n, f, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < f; j++ {
			X.Set(i, j, r.NormFloat64())
		}
	}
	return X
}

// TestExtractMatchesNaiveConv checks M·U against the naive convolution for 1-D and
// 2-D inputs with channels, strides and zero padding: (M U)[k·n+i, j] must equal
// conv(x_i)[j, k] with k row-major over the output grid.
func TestExtractMatchesNaiveConv(t *testing.T) {
	cases := []struct {
		in                      ir.Shape
		kernel, stride, padding []int
	}{
		{ir.Shape{1, 8}, []int{3}, nil, nil},
		{ir.Shape{2, 9}, []int{4}, []int{2}, []int{1}},
		{ir.Shape{1, 6, 6}, []int{2, 2}, []int{2, 2}, nil},
		{ir.Shape{3, 5, 7}, []int{3, 2}, []int{1, 2}, []int{1, 0}},
		{ir.Shape{2, 4, 4}, []int{4, 4}, nil, []int{2, 1}},
		{ir.Shape{1, 28, 28}, []int{4, 4}, []int{4, 4}, nil},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		n, m := 3, 2
		X := randData(r, n, tc.in.Size())
		p, err := Extract(X, tc.in, tc.kernel, tc.stride, tc.padding, false)
		if err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		C, H, W := tc.in[0], 1, tc.in[1]
		KH, KW, sh, sw, ph, pw := 1, tc.kernel[0], 1, 1, 0, 0
		if len(tc.in) == 3 {
			H, W, KH, KW = tc.in[1], tc.in[2], tc.kernel[0], tc.kernel[1]
		}
		if tc.stride != nil {
			sw = tc.stride[len(tc.stride)-1]
			if len(tc.stride) == 2 {
				sh = tc.stride[0]
			}
		}
		if tc.padding != nil {
			pw = tc.padding[len(tc.padding)-1]
			if len(tc.padding) == 2 {
				ph = tc.padding[0]
			}
		}
		w, U := randWeights(r, m, C, KH, KW)
		var MU mat.Dense
		MU.Mul(p.M, U)
		for i := 0; i < n; i++ {
			ref, OH, OW := naiveConv(X.RawRowView(i), C, H, W, w, sh, sw, ph, pw)
			if p.K != OH*OW || p.H != C*KH*KW {
				t.Fatalf("%v: K=%d h=%d, want %d, %d", tc, p.K, p.H, OH*OW, C*KH*KW)
			}
			for j := 0; j < m; j++ {
				for k := 0; k < p.K; k++ {
					if got, want := MU.At(k*n+i, j), ref[j*p.K+k]; math.Abs(got-want) > 1e-12 {
						t.Fatalf("%v: sample %d filter %d position %d: %g, want %g", tc, i, j, k, got, want)
					}
				}
			}
		}
		// X_k is the k-th block of rows of M.
		xk := p.X(p.K - 1)
		if xk.At(n-1, p.H-1) != p.M.At(p.K*n-1, p.H-1) {
			t.Fatalf("X_k view is not a block of M")
		}
	}
}

// TestExtractCircular checks circular extraction against a zero-padded ("valid")
// convolution of the periodically extended signal [x x x]: position t with left
// offset P reads x_ext[L + t − P + s].
func TestExtractCircular(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ C, L, K, P int }{{1, 6, 6, 2}, {1, 7, 3, 1}, {2, 5, 5, 0}, {1, 8, 8, 3}} {
		n := 2
		X := randData(r, n, tc.C*tc.L)
		p, err := Extract(X, ir.Shape{tc.C, tc.L}, []int{tc.K}, nil, []int{tc.P}, true)
		if err != nil {
			t.Fatal(err)
		}
		if p.K != tc.L {
			t.Fatalf("K = %d, want %d", p.K, tc.L)
		}
		ext := mat.NewDense(n, tc.C*3*tc.L, nil)
		for i := 0; i < n; i++ {
			for c := 0; c < tc.C; c++ {
				for rep := 0; rep < 3; rep++ {
					for s := 0; s < tc.L; s++ {
						ext.Set(i, c*3*tc.L+rep*tc.L+s, X.At(i, c*tc.L+s))
					}
				}
			}
		}
		w, U := randWeights(r, 1, tc.C, 1, tc.K)
		var MU mat.Dense
		MU.Mul(p.M, U)
		for i := 0; i < n; i++ {
			ref, _, _ := naiveConv(ext.RawRowView(i), tc.C, 1, 3*tc.L, w, 1, 1, 0, 0)
			for k := 0; k < tc.L; k++ {
				if got, want := MU.At(k*n+i, 0), ref[tc.L+k-tc.P]; math.Abs(got-want) > 1e-12 {
					t.Fatalf("%+v: sample %d position %d: %g, want %g", tc, i, k, got, want)
				}
			}
		}
	}
}

// TestExtractCircularTorch compares with PyTorch's Conv1d(padding='same',
// padding_mode='circular'), whose left padding is ⌊(K−1)/2⌋.
func TestExtractCircularTorch(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skip("python3-torch not installed (apt-get install -y python3-torch)")
	}
	const L, K = 6, 6
	x := []float64{0.3, -1.2, 0.7, 2.0, -0.4, 1.1}
	u := []float64{1, -0.5, 0.25, 2, 0.1, -1}
	script := `
import torch
x = torch.tensor([[[0.3, -1.2, 0.7, 2.0, -0.4, 1.1]]], dtype=torch.float64)
c = torch.nn.Conv1d(1, 1, 6, padding='same', padding_mode='circular', bias=False).double()
with torch.no_grad():
    c.weight[:] = torch.tensor([[[1, -0.5, 0.25, 2, 0.1, -1]]], dtype=torch.float64)
print(' '.join(repr(float(v)) for v in c(x)[0, 0]))
`
	out, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		t.Fatalf("torch: %v", err)
	}
	p, perr := Extract(mat.NewDense(1, L, x), ir.Shape{1, L}, []int{K}, nil, []int{(K - 1) / 2}, true)
	if perr != nil {
		t.Fatal(perr)
	}
	got := mat.NewVecDense(L, nil)
	got.MulVec(p.M, mat.NewVecDense(K, u))
	fields := strings.Fields(string(out))
	if len(fields) != L {
		t.Fatalf("torch printed %q", out)
	}
	for k, f := range fields {
		var want float64
		if _, err := fmt.Sscan(f, &want); err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.AtVec(k)-want) > 1e-12 {
			t.Fatalf("position %d: %g, torch %g", k, got.AtVec(k), want)
		}
	}
}

// TestWindows checks pooling windows by hand: a 4×4 grid pooled 2×2 (stride 2) has
// windows {0,1,4,5}, {2,3,6,7}, {8,9,12,13}, {10,11,14,15}; a length-6 signal pooled
// 3 has {0,1,2}, {3,4,5}; stride 1 windows of 2 over length 4 overlap.
func TestWindows(t *testing.T) {
	w, pooled, err := Windows([]int{4, 4}, []int{2, 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 1, 4, 5}, {2, 3, 6, 7}, {8, 9, 12, 13}, {10, 11, 14, 15}}
	if !equal2(w, want) || pooled[0] != 2 || pooled[1] != 2 {
		t.Fatalf("windows %v pooled %v", w, pooled)
	}
	w, _, _ = Windows([]int{6}, []int{3}, nil)
	if !equal2(w, [][]int{{0, 1, 2}, {3, 4, 5}}) {
		t.Fatalf("1-D windows %v", w)
	}
	w, _, _ = Windows([]int{4}, []int{2}, []int{1})
	if !equal2(w, [][]int{{0, 1}, {1, 2}, {2, 3}}) {
		t.Fatalf("overlapping windows %v", w)
	}
	w, pooled, _ = Windows([]int{3, 5}, nil, nil)
	if len(w) != 1 || len(w[0]) != 15 || pooled[0] != 1 {
		t.Fatalf("global window %v", w)
	}
	if _, _, err := Windows([]int{3}, []int{4}, nil); err == nil {
		t.Fatal("window larger than the grid accepted")
	}
}

// TestExtractErrors: bad shapes return errors, never panic.
func TestExtractErrors(t *testing.T) {
	X := mat.NewDense(2, 8, nil)
	bad := []struct {
		in                      ir.Shape
		kernel, stride, padding []int
		circ                    bool
	}{
		{ir.Shape{8}, []int{3}, nil, nil, false},
		{ir.Shape{1, 7}, []int{3}, nil, nil, false},
		{ir.Shape{1, 8}, []int{9}, nil, nil, false},
		{ir.Shape{1, 8}, []int{3, 3}, nil, nil, false},
		{ir.Shape{1, 8}, []int{0}, nil, nil, false},
		{ir.Shape{1, 8}, []int{3}, []int{-1}, nil, false},
		{ir.Shape{1, 8}, []int{3}, []int{2}, nil, true},
		{ir.Shape{1, 8}, []int{3}, nil, []int{-1}, false},
		{ir.Shape{1, 2, 4}, []int{3, 1}, nil, nil, false},
	}
	for _, b := range bad {
		if _, err := Extract(X, b.in, b.kernel, b.stride, b.padding, b.circ); err == nil {
			t.Errorf("%+v accepted", b)
		}
	}
	p, err := Extract(X, ir.Shape{1, 8}, []int{3}, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	q := p.AppendOnes()
	if q.H != 4 || q.M.At(5, 3) != 1 || !q.Bias {
		t.Fatalf("AppendOnes: h=%d", q.H)
	}
	s := p.Rows([]int{0, 2})
	if r, _ := s.Dims(); r != 4 {
		t.Fatalf("Rows: %d rows", r)
	}
}

func equal2(a, b [][]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

// TestExtractBudget: a huge padding (issue #10 item 2) is refused before any
// allocation with a TooLarge error naming the sizes, under any budget (also none),
// and AppendOnes matches the AppendOnes method.
func TestExtractBudget(t *testing.T) {
	X := mat.NewDense(2, 28*28, nil)
	in := ir.Shape{1, 28, 28}
	for _, pad := range []int{3000, 1000000} {
		_, err := ExtractWith(X, in, []int{3, 3}, nil, []int{pad, pad}, false, Options{MaxMemory: 1 << 30})
		tl := budget.AsTooLarge(err)
		if tl == nil || tl.Budget != 1<<30 || !strings.Contains(tl.What, "positions") {
			t.Fatalf("padding %d: err %v, want a TooLarge error", pad, err)
		}
		if _, err := ExtractWith(X, in, []int{3, 3}, nil, []int{1000000, 1000000}, false, Options{MaxMemory: -1}); err == nil {
			t.Fatalf("padding 1e6 without a budget was accepted")
		}
	}
	Y := mat.NewDense(3, 2*5*5, nil)
	for i := range Y.RawMatrix().Data {
		Y.RawMatrix().Data[i] = float64(i%7) - 3
	}
	a, err := Extract(Y, ir.Shape{2, 5, 5}, []int{3, 3}, []int{2, 1}, []int{1, 0}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ExtractWith(Y, ir.Shape{2, 5, 5}, []int{3, 3}, []int{2, 1}, []int{1, 0}, false, Options{AppendOnes: true})
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(a.AppendOnes().M, b.M) || !b.Bias || b.H != a.H+1 {
		t.Fatalf("AppendOnes option differs from the method")
	}
}
