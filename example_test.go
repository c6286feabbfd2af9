package cnnc_test

import (
	"bytes"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/lang/diag"
)

// spiral is a two-layer ReLU network on generated data (two interleaved spirals),
// with every activation pattern enumerated, so the certificate is global.
const spiral = `model net {
    input  2
    linear auto bias=true
    relu
    linear 1
}

data train {
    synthetic spiral n=24 seed=1 noise=0.05
    standardize
}

data test {
    synthetic spiral n=100 seed=2 noise=0.05
    standardize
}

train {
    beta     1e-2
    patterns exact
}
`

// Example trains a network end to end on generated data: parse, solve, and check
// what the certificate promises — the recovered network's objective, computed from
// its weights alone, equals the convex optimum, and the dual bound is below both.
func Example() {
	p, err := cnnc.Parse("spiral.cnn", []byte(spiral), cnnc.Options{})
	if err != nil {
		diag.WriteText(os.Stderr, p.Diagnostics, p.Sources)
		log.Fatal(err)
	}
	res, err := p.Solve(cnnc.SolveOptions{Tol: 1e-8})
	if err != nil {
		log.Fatal(err)
	}
	r := res.Report
	fmt.Println("rule:", res.Outcome.Rule.Name, r.Section, r.Doc)
	fmt.Println("status:", r.Status)
	rel := math.Abs(*r.NonconvexObjective-*r.ConvexObjective) / *r.ConvexObjective
	fmt.Println("nonconvex = convex:", rel < 1e-6)
	fmt.Println("dual bound below:", *r.DualObjective <= *r.NonconvexObjective)

	pr, err := cnnc.Predict(p.Model, res.Weights, p.Test)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("test labels are classes:", pr.Task, len(pr.Labels))
	// Output:
	// rule: fc-relu §2 docs/math/02-fc-relu.md
	// status: optimal
	// nonconvex = convex: true
	// dual bound below: true
	// test labels are classes: binary 100
}

// ExampleLoad loads a shipped example and derives its convex program without
// solving it.
func ExampleLoad() {
	p, err := cnnc.Load(filepath.Join("examples", "spiral_relu.cnn"), cnnc.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rule, prog, err := p.Derive()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Model.Name, "→", rule.Name, prog.Cite())
	fmt.Println(p.DescribeData() != "")
	// Output:
	// net → fc-relu §2, docs/math/02-fc-relu.md
	// true
}

// ExampleProblem_Export writes the convex program as a JSON conic problem (the
// format `cnnc export --format json` writes); SCS and CBF work the same way.
func ExampleProblem_Export() {
	p, err := cnnc.Parse("spiral.cnn", []byte(spiral), cnnc.Options{})
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	cp, err := p.Export(&buf, cnnc.FormatJSON, cnnc.ExportOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cp.M > 0, cp.N > 0, bytes.HasPrefix(buf.Bytes(), []byte("{")))
	// Output: true true true
}

// ExampleProblem_LoadNew predicts on new, unlabeled raw inputs: weights.json
// records the training data's standardisation and class mapping, and LoadNew
// applies them.
func ExampleProblem_LoadNew() {
	p, err := cnnc.Parse("spiral.cnn", []byte(spiral), cnnc.Options{})
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.Solve(cnnc.SolveOptions{})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cnnc-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	csv := filepath.Join(dir, "new.csv")
	// Two raw points, no label column.
	if err := os.WriteFile(csv, []byte("0.1,0.2\n-0.5,0.3\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	ds, err := p.LoadNew(csv+",label=none", res.Weights)
	if err != nil {
		log.Fatal(err)
	}
	pr, err := cnnc.Predict(p.Model, res.Weights, ds)
	if err != nil {
		log.Fatal(err)
	}
	// The spiral generator labels its classes 0 and 1 (targets −1 and +1):
	// predictions come back as those labels.
	fmt.Println(len(pr.Labels), pr.Loss == nil, res.Weights.Preprocess.Classes)
	for _, l := range pr.Labels {
		fmt.Println(l == 0 || l == 1)
	}
	// Output:
	// 2 true [0 1]
	// true
	// true
}
