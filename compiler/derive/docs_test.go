package derive

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// repoRoot is the module root as seen from this package's directory.
const repoRoot = "../.."

var sectionRE = regexp.MustCompile(`^§(\d+)(b?)((\.\d+)*)$`)
var mathDocRE = regexp.MustCompile(`^docs/math/(\d\d)-[a-z0-9-]+\.md$`)

// checkCite reports what is wrong with citing section sec by the docs file doc: the
// file must be docs/math/NN-….md with NN the section's number, exist in the
// repository, start with the heading "# §N …", and mention the subsection (e.g.
// §5.2) when the section has one.
func checkCite(sec, doc string) error {
	m := sectionRE.FindStringSubmatch(sec)
	if m == nil {
		return fmt.Errorf("section %q is not of the form §N, §N.M or §Nb", sec)
	}
	f := mathDocRE.FindStringSubmatch(doc)
	if f == nil {
		return fmt.Errorf("doc %q is not a file docs/math/NN-name.md", doc)
	}
	n, _ := strconv.Atoi(m[1])
	if want := fmt.Sprintf("%02d", n); f[1] != want {
		return fmt.Errorf("section %s is documented in docs/math/%s-*.md, not %s", sec, want, doc)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(doc)))
	if err != nil {
		return fmt.Errorf("section %s: %v", sec, err)
	}
	text := string(b)
	if head := "# §" + m[1] + " "; !strings.HasPrefix(text, head) {
		return fmt.Errorf("%s does not start with the heading %q", doc, head+"…")
	}
	if sec != "§"+m[1] && !strings.Contains(text, sec) {
		return fmt.Errorf("%s never mentions %s", doc, sec)
	}
	return nil
}

// TestRuleDocs: every registered rule names its section and the docs file that
// documents it (docs/math/README.md's layout), and that file exists, is the
// section's own, and covers the subsection the rule cites.
func TestRuleDocs(t *testing.T) {
	if len(Rules()) == 0 {
		t.Fatal("no rules registered")
	}
	for _, r := range Rules() {
		if err := checkCite(r.Section, r.Doc); err != nil {
			t.Errorf("rule %s: %v", r.Name, err)
		}
	}
}

// TestProgramDocs: the program a rule derives cites a section and a docs file that
// agree (checkCite), for every architecture of the strong-duality suite and for the
// cases where the program's section differs from the rule's — a pooling window
// covering the whole conv output, and flatten of a single position, are the §4
// program although rule cnn-pool (§5.2) matched them.
func TestProgramDocs(t *testing.T) {
	out := ly{kind: ir.Linear, width: 1}
	relu := ly{kind: ir.ReLU}
	cases := cnnCases()
	cases = append(cases,
		cnnCase{name: "pool-whole-grid", rule: "cnn-pool", in: ir.Shape{1, 6}, layers: []ly{{kind: ir.Conv, kernel: []int{2}}, relu, {kind: ir.AvgPool, kernel: []int{5}}, out}, n: 4, beta: 0.05},
		cnnCase{name: "flatten-one-position", rule: "cnn-pool", in: ir.Shape{1, 4}, layers: []ly{{kind: ir.Conv, kernel: []int{4}}, relu, {kind: ir.Flatten}, out}, n: 4, beta: 0.05},
	)
	want := map[string]string{"pool-whole-grid": "§4", "flatten-one-position": "§4"}
	for _, tc := range cases {
		r := rand.New(rand.NewPCG(1, 7))
		X, y := randXY(r, tc.n, tc.in.Size())
		in := mkInput(mkModel(tc.in, tc.layers...), X, y, tc.beta, ir.Patterns{Mode: ir.Sample, N: 20, Seed: 1})
		rule, prog, ds := Derive(in)
		if ds.HasErrors() {
			t.Fatalf("%s: %v", tc.name, ds)
		}
		if rule.Name != tc.rule {
			t.Fatalf("%s: rule %s, want %s", tc.name, rule.Name, tc.rule)
		}
		if err := checkCite(prog.Section, prog.Doc); err != nil {
			t.Errorf("%s (rule %s): program cites %s: %v", tc.name, rule.Name, prog.Cite(), err)
		}
		if w, ok := want[tc.name]; ok && prog.Section != w {
			t.Errorf("%s: program section %s, want %s", tc.name, prog.Section, w)
		}
	}
}
