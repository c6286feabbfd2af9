package train

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
)

// The scale benchmarks of issue #15 (backend/native/large package doc, "Measured"): Fashion-MNIST
// T-shirt (class 0) vs ankle boot (class 9), pixels scaled to [0, 1], β = 1e-3,
// squared loss, certified relative gap ≤ 1e-4 (train tol 1e-4), and the test
// accuracy on the first 1000 held-out images of the two classes (t10k).
//
//	gap/n=N     conv 4x4 stride=4 · relu · avgpool global · linear 1, 200 sampled patterns
//	max/n=N     the same with maxpool global
//	fc/n=N      linear auto · relu · linear 1 on the flattened images, 500 sampled patterns
//
// Run one case per process so that its peak memory can be read (VmHWM, reported as
// the metric peak-MB, and /usr/bin/time -v):
//
//	CNNC_LONG=1 go test ./compiler/train -run '^$' -bench 'FashionScale/gap/n=1000$' -benchtime 1x -timeout 2h
//
// CNNC_METHOD=group|ipm|al forces the structured method (default: TemplateMethod's
// choice). Cases with n > 200 need CNNC_LONG=1; all need the Fashion-MNIST files in
// /usr/share/datasets/fashion-mnist.
func BenchmarkFashionScale(b *testing.B) {
	const dir = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
		b.Skip("Fashion-MNIST not found in " + dir)
	}
	for _, kind := range []string{"gap", "max", "fc"} {
		for _, n := range []int{200, 1000, 2000, 5000, 10000} {
			b.Run(fmt.Sprintf("%s/n=%d", kind, n), func(b *testing.B) {
				if n > 200 && os.Getenv("CNNC_LONG") == "" {
					b.Skip("set CNNC_LONG=1 for n > 200")
				}
				for i := 0; i < b.N; i++ {
					runFashion(b, dir, kind, n)
				}
			})
		}
	}
}

func fashionSource(dir, kind string, n int) string {
	model := `model fashion {
    input   1x28x28
    conv    4x4 stride=4
    relu
    avgpool global
    linear  1
}`
	patterns := 200
	switch kind {
	case "max":
		model = strings.Replace(model, "avgpool global", "maxpool global", 1)
	case "fc":
		model = `model fashion {
    input   1x28x28
    linear  auto
    relu
    linear  1
}`
		patterns = 500
	}
	data := func(name, set string, limit int) string {
		return fmt.Sprintf(`data %s {
    images  idx %q
    labels  idx %q
    classes 0 9
    limit   %d
    scale   0.00392156862745098
}
`, name, filepath.Join(dir, set+"-images-idx3-ubyte.gz"), filepath.Join(dir, set+"-labels-idx1-ubyte.gz"), limit)
	}
	return model + "\n\n" + data("train", "train", n) + "\ntrain {\n    loss     squared\n    beta     1e-3\n" +
		fmt.Sprintf("    patterns sample %d seed=1\n", patterns) + "    solver   native tol=1e-4\n}\n\n" + data("test", "t10k", 1000)
}

func runFashion(b *testing.B, dir, kind string, n int) {
	path := filepath.Join(b.TempDir(), "fashion.cnn")
	if err := os.WriteFile(path, []byte(fashionSource(dir, kind, n)), 0o644); err != nil {
		b.Fatal(err)
	}
	f, dl, _ := check.LoadFile(path, check.Options{})
	if dl.HasErrors() || f == nil || f.Trained == nil {
		b.Fatalf("%v", dl)
	}
	train, stats, dl := dataset.Load(f.Data["train"], f.Trained.Input(), nil)
	if dl.HasErrors() {
		b.Fatalf("train data: %v", dl)
	}
	test, _, dl := dataset.Load(f.Data["test"], f.Trained.Input(), stats)
	if dl.HasErrors() {
		b.Fatalf("test data: %v", dl)
	}
	in := &derive.Input{File: f, Model: f.Trained, Train: f.Train, Data: train}
	rec := solver.Recorder(solver.Nop{})
	if os.Getenv("CNNC_PROGRESS") != "" {
		rec = &solver.Table{W: os.Stderr}
	}
	t0 := time.Now()
	out, err := Run(in, Options{Recorder: rec, Settings: SolverSettings{Method: os.Getenv("CNNC_METHOD")}})
	if err != nil {
		b.Fatal(err)
	}
	secs := time.Since(t0).Seconds()
	gap := (out.ConvexObjective - out.RestrictedDual) / math.Max(1, math.Abs(out.ConvexObjective))
	_, class, err := network.Predict(f.Trained, out.Weights, test.X)
	if err != nil {
		b.Fatal(err)
	}
	right := 0
	for i, c := range class {
		if float64(c) == test.Y.At(i, 0) {
			right++
		}
	}
	acc := float64(right) / float64(len(class))
	b.ReportMetric(secs, "s")
	b.ReportMetric(gap, "rel-gap")
	b.ReportMetric(acc, "test-acc")
	b.ReportMetric(peakMB(), "peak-MB")
	b.Logf("%s n=%d: %s (%s), objective %.8g, restricted dual %.8g, relative gap %.2e, %d iterations, %d active neurons, test accuracy %.4f (%d images), %.1f s, peak %.0f MB",
		kind, n, out.Status, out.SolverName, out.ConvexObjective, out.RestrictedDual, gap, out.Iterations, out.ActiveNeurons, acc, len(class), secs, peakMB())
	if out.Status != solver.Optimal {
		b.Errorf("status %s", out.Status)
	}
}

// peakMB is the process's peak resident set (VmHWM) in MB, NaN where /proc is absent.
func peakMB() float64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	for _, line := range strings.Split(string(s), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%f", &kb)
			return kb / 1024
		}
	}
	return math.NaN()
}
