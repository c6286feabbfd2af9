package main

// Acceptance tests of issue #10 (reliability): one test per numbered item, each
// asserting the exit code, the diagnostic code and position and, for the size
// cases, that the real command (this test binary re-executed as cnnc, see
// TestMain) stays under a memory bound (its peak RSS from rusage) and answers
// within seconds of CPU time. CPU time, not wall time, is bounded: the machine
// may be shared.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the cnnc command when CNNC_AS_CLI=1, so
// the acceptance tests run the real main (signals, exit codes, a process of its
// own whose memory can be measured) without building a separate binary.
//
// The child reports its own peak RSS (VmHWM of /proc/self/status) to the file
// named by CNNC_RSS_FILE: rusage's maxrss of a child started from the (large) test
// process also counts the parent's pages at the time of the fork, VmHWM does not.
func TestMain(m *testing.M) {
	if os.Getenv("CNNC_AS_CLI") == "1" {
		e := &env{stdout: os.Stdout, stderr: os.Stderr}
		e.sig = watchSignals(e)
		code := runEnv(e, os.Args[1:])
		if f := os.Getenv("CNNC_RSS_FILE"); f != "" {
			if b, err := os.ReadFile("/proc/self/status"); err == nil {
				for _, ln := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(ln, "VmHWM:") {
						os.WriteFile(f, []byte(strings.TrimSpace(strings.TrimPrefix(ln, "VmHWM:"))), 0o644)
					}
				}
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

type procResult struct {
	stdout, stderr string
	code           int
	maxRSSMiB      float64
	cpu            time.Duration
}

// cli runs cnnc as a subprocess in dir (at most two minutes) and measures it.
func cli(t *testing.T, dir string, args ...string) procResult {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot find the test binary: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	rssFile := filepath.Join(t.TempDir(), "rss")
	cmd.Env = append(os.Environ(), "CNNC_AS_CLI=1", "CNNC_RSS_FILE="+rssFile)
	cmd.Dir = dir
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err = cmd.Run()
	r := procResult{stdout: so.String(), stderr: se.String()}
	if cmd.ProcessState == nil {
		t.Fatalf("cnnc %v did not run: %v", args, err)
	}
	r.code = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var kb float64
	if b, err := os.ReadFile(rssFile); err == nil {
		if _, err := fmt.Sscanf(string(b), "%f kB", &kb); err == nil {
			r.maxRSSMiB = kb / 1024
		}
	} else {
		t.Logf("no peak RSS from the child (no /proc?): the memory bound is not checked")
	}
	return r
}

// bounded asserts the memory and CPU bounds of a size case.
func bounded(t *testing.T, r procResult, rssMiB float64, cpu time.Duration) {
	t.Helper()
	t.Logf("peak RSS %.0f MiB (bound %.0f), CPU %v (bound %v)", r.maxRSSMiB, rssMiB, r.cpu.Round(time.Millisecond), cpu)
	if r.maxRSSMiB > rssMiB {
		t.Errorf("peak RSS %.0f MiB, bound %.0f MiB", r.maxRSSMiB, rssMiB)
	}
	if r.cpu > cpu {
		t.Errorf("CPU time %v, bound %v", r.cpu, cpu)
	}
}

// wantDiag asserts exit code code and a diagnostic "file:line:col: error[CODE]" in
// the text output.
func wantDiag(t *testing.T, r procResult, code int, diagCode string, line, col int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, clipText(r.stderr))
	}
	re := regexp.MustCompile(`:(\d+):(\d+): error\[` + diagCode + `\]`)
	m := re.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no error[%s] in stderr:\n%s", diagCode, clipText(r.stderr))
	}
	if line > 0 && (m[1] != itoa(line) || (col > 0 && m[2] != itoa(col))) {
		t.Fatalf("error[%s] at %s:%s, want %d:%d\n%s", diagCode, m[1], m[2], line, col, clipText(r.stderr))
	}
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func clipText(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

func write(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const cnnHead = `model net {
    input 1x28x28
    conv 3x3 %s filters=auto
    relu
    avgpool global
    linear 1
}
`

// Item 1: -o /dev/null (here a FIFO and a character device are checked without
// writing) and a symbolic link are refused before the program is derived; the
// link and its target are unchanged.
func TestItem1OutputSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "tiny.cnn", tinyFC)
	target := write(t, dir, "target.json", "keep")
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symlinks: %v", err)
	}
	r := cli(t, dir, "export", file, "--format", "json", "-o", link)
	if r.code != exitError || !strings.Contains(r.stderr, "symbolic link") {
		t.Fatalf("export to a symlink: exit %d, stderr %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Fatalf("the link's target changed: %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced")
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err == nil {
		r := cli(t, dir, "export", file, "--format", "scs", "-o", fifo)
		if r.code != exitError || !strings.Contains(r.stderr, "FIFO") {
			t.Fatalf("export to a FIFO: exit %d, stderr %s", r.code, r.stderr)
		}
	}
	// /dev/null: only validated (a regression must not replace the device).
	if err := validateOutFile("/dev/null"); err == nil || !strings.Contains(err.Error(), "character device") {
		t.Fatalf("validateOutFile(/dev/null) = %v", err)
	}
	if fi, err := os.Lstat("/dev/null"); err == nil && fi.Mode().IsRegular() {
		t.Fatalf("/dev/null is a regular file on this machine")
	}
	// solve -o a symlink to a folder
	od := filepath.Join(dir, "realout")
	os.Mkdir(od, 0o755)
	ol := filepath.Join(dir, "outlink")
	os.Symlink(od, ol)
	r = cli(t, dir, "solve", file, "-o", ol, "-q")
	if r.code != exitError || !strings.Contains(r.stderr, "symbolic link") {
		t.Fatalf("solve -o symlink: exit %d, stderr %s", r.code, r.stderr)
	}
}

// Item 2: a huge padding passes nothing that allocates: check, explain, solve and
// export answer F0209 at the conv line, under 200 MiB and 10 s of CPU.
func TestItem2HugePadding(t *testing.T) {
	dir := t.TempDir()
	for _, pad := range []string{"padding=1000000", "padding=3000"} {
		src := strings.Replace(cnnHead, "%s", pad, 1) + "\ndata train {\n    synthetic planted n=20 seed=1\n}\n\ntrain {\n    patterns sample 10\n}\n"
		file := write(t, dir, "pad.cnn", src)
		for _, verb := range [][]string{{"check", file}, {"explain", file}, {"solve", file, "-q", "-o", filepath.Join(dir, "o")}, {"export", file, "--format", "json", "-o", filepath.Join(dir, "p.json")}} {
			r := cli(t, dir, verb...)
			wantDiag(t, r, exitError, "F0209", 3, 5)
			bounded(t, r, 200, 10*time.Second)
		}
	}
}

// Item 3: a zero network (huge β) is optimal and recovered: exit 0, a report with
// status optimal, no active neuron, and nonconvex = convex.
func TestItem3ZeroNetwork(t *testing.T) {
	dir := t.TempDir()
	for _, act := range []string{"relu", "gated"} {
		src := strings.Replace(strings.Replace(tinyFC, "beta     0.01", "beta     1000", 1), "relu", act, 1)
		file := write(t, dir, "zero.cnn", src)
		out := filepath.Join(dir, "out-"+act)
		so, se, code := runCLI("solve", file, "-o", out, "-q")
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s\n%s", act, code, so, se)
		}
		r := readReport(t, filepath.Join(out, "report.json"))
		if r["status"] != "optimal" || number(t, r, "active_neurons") != 0 {
			t.Fatalf("%s: status %v, %v active neurons", act, r["status"], r["active_neurons"])
		}
		if c, n := number(t, r, "convex_objective"), number(t, r, "nonconvex_objective"); c != n {
			t.Fatalf("%s: convex %v ≠ nonconvex %v", act, c, n)
		}
	}
	// constant (zero) features: no pattern can lower the loss; only the output bias fits
	var rows strings.Builder
	for i := 0; i < 30; i++ {
		rows.WriteString("0,0," + fmtInt(i%7-3) + "\n")
	}
	write(t, dir, "const.csv", rows.String())
	file := write(t, dir, "const.cnn", "model net {\n    input 2\n    linear auto\n    relu\n    linear 1 bias=true\n}\n\ndata train {\n    csv \"const.csv\"\n}\n\ntrain {\n    patterns exact\n}\n")
	out := filepath.Join(dir, "out-const")
	if so, se, code := runCLI("solve", file, "-o", out, "-q"); code != exitOK {
		t.Fatalf("constant features: exit %d\n%s\n%s", code, so, se)
	}
	r := readReport(t, filepath.Join(out, "report.json"))
	// the optimum is ½Σ(y − ȳ)² with ȳ the mean target (-3..3 cycling: mean −0.1)
	want := 0.0
	mean := 0.0
	for i := 0; i < 30; i++ {
		mean += float64(i%7-3) / 30
	}
	for i := 0; i < 30; i++ {
		d := float64(i%7-3) - mean
		want += 0.5 * d * d
	}
	if c, n := number(t, r, "convex_objective"), number(t, r, "nonconvex_objective"); math.Abs(c-want) > 1e-6*want || math.Abs(n-want) > 1e-6*want {
		t.Fatalf("constant features: convex %v, nonconvex %v, want %v", c, n, want)
	}
}

// Item 4: runaway work is refused at once, at the construct that asks for it.
func TestItem4RunawayWork(t *testing.T) {
	dir := t.TempDir()
	cnn := strings.Replace(cnnHead, "%s", "", 1)
	cases := []struct {
		name, src  string
		args       []string
		code       string
		line, col  int
		maxMiB     float64
		wantStderr string
	}{
		{"sample 16e6 on a CNN", cnn + "\ndata train {\n    synthetic planted n=200 seed=1\n}\n\ntrain {\n    patterns sample 16000000\n}\n",
			nil, "F0209", 14, 5, 300, "patterns sample"},
		{"exact max=1e8 on a CNN", cnn + "\ndata train {\n    synthetic planted n=50 seed=1\n}\n\ntrain {\n    patterns exact max=100000000\n}\n",
			nil, "F0209", 14, 5, 300, ""},
		{"300000 planted samples", cnn + "\ndata train {\n    synthetic planted n=300000 seed=1\n}\n\ntrain {\n    patterns sample 10\n}\n",
			[]string{"--max-memory", "1GiB"}, "F0209", 10, 5, 300, "1 GiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := write(t, dir, "run.cnn", c.src)
			r := cli(t, dir, append([]string{"solve", file, "-q", "-o", filepath.Join(dir, "o")}, c.args...)...)
			wantDiag(t, r, exitError, c.code, c.line, c.col)
			bounded(t, r, c.maxMiB, 10*time.Second)
			if !strings.Contains(r.stderr, c.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", c.wantStderr, r.stderr)
			}
		})
	}
	t.Run("80 MB CSV without newlines", func(t *testing.T) {
		csv := filepath.Join(dir, "oneline.csv")
		f, err := os.Create(csv)
		if err != nil {
			t.Fatal(err)
		}
		chunk := []byte(strings.Repeat("1,", 1<<19))
		for i := 0; i < 80; i++ {
			f.Write(chunk)
		}
		f.Close()
		file := write(t, dir, "csv.cnn", "model net {\n    input 2\n    linear auto\n    relu\n    linear 1\n}\n\ndata train {\n    csv \"oneline.csv\"\n}\n")
		r := cli(t, dir, "check", file)
		wantDiag(t, r, exitError, "F0103", 9, 5)
		bounded(t, r, 300, 10*time.Second)
		if !strings.Contains(r.stderr, "longer than 4 MiB") {
			t.Errorf("stderr: %s", r.stderr)
		}
	})
	t.Run("adaptive start=1e9", func(t *testing.T) {
		file := write(t, dir, "ad.cnn", tinyFC[:strings.Index(tinyFC, "\ntrain {")+1]+"train {\n    patterns adaptive start=1000000000\n}\n")
		r := cli(t, dir, "check", file)
		wantDiag(t, r, exitError, "C0114", 13, 29)
	})
}

// Item 5: parser limits: deep lists and braces answer at once with a bounded
// output; a valid file of more than a million lines parses.
func TestItem5ParserLimits(t *testing.T) {
	dir := t.TempDir()
	deep := write(t, dir, "deep.cnn", "model net {\n    input 2\n    linear auto x="+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+"\n    relu\n    linear 1\n}\n")
	r := cli(t, dir, "check", deep)
	wantDiag(t, r, exitError, "S0206", 3, 83)
	bounded(t, r, 200, 5*time.Second)
	braces := write(t, dir, "braces.cnn", "model net "+strings.Repeat("{", 100000)+"\n")
	r = cli(t, dir, "check", braces)
	wantDiag(t, r, exitError, "S0203", 1, 11)
	bounded(t, r, 300, 10*time.Second)
	if len(r.stderr) > 64<<10 || !strings.Contains(r.stderr, "more diagnostics not shown") {
		t.Fatalf("stderr of %d bytes, want a capped output with 'more diagnostics not shown'", len(r.stderr))
	}
	for _, ln := range strings.Split(r.stderr, "\n") {
		if len(ln) > 400 {
			t.Fatalf("an echoed line of %d bytes", len(ln))
		}
	}
	// more than a million lines (blank lines inside the train block)
	long := tinyFC[:strings.Index(tinyFC, "\ntrain {")+1] + "train {\n" + strings.Repeat("\n", 1000050) + "    beta 0.01\n}\n"
	file := write(t, dir, "long.cnn", long)
	so, se, code := runCLI("check", "--no-data", file)
	if code != exitOK {
		t.Fatalf("a valid file of %d lines: exit %d\n%s%s", strings.Count(long, "\n"), code, so, clipText(se))
	}
}

// Item 6: outputs are one unit, identify their run, and a bad -o fails before the
// solve.
func TestItem6OutputsOneUnit(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "tiny.cnn", tinyFC)
	out := filepath.Join(dir, "out")
	if so, se, code := runCLI("solve", file, "-o", out, "-q"); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, so, se)
	}
	r := readReport(t, filepath.Join(out, "report.json"))
	src, _ := os.ReadFile(file)
	wb, _ := os.ReadFile(filepath.Join(out, "weights.json"))
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	if r["input_sha256"] != sum(src) || r["weights_sha256"] != sum(wb) {
		t.Fatalf("hashes %v %v, want %s %s", r["input_sha256"], r["weights_sha256"], sum(src), sum(wb))
	}
	if d, _ := r["data_sha256"].(string); len(d) != 64 {
		t.Fatalf("data_sha256 %v", r["data_sha256"])
	}
	if ts, _ := r["created"].(string); ts == "" {
		t.Fatal("no created time")
	} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Fatalf("created %q: %v", ts, err)
	}
	st, _ := r["settings"].(map[string]any)
	if st["tol"] != 1e-6 || st["solver"] != "native" {
		t.Fatalf("settings %v", st)
	}
	// solving again replaces both files and leaves nothing beside the folder
	if _, _, code := runCLI("solve", file, "-o", out, "-q"); code != exitOK {
		t.Fatalf("second solve: exit %d", code)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "out tiny.cnn" {
		t.Fatalf("folder holds %v after two solves", names)
	}
	// report.json is a folder: refused before solving (no solver table), nothing changed
	bad := filepath.Join(dir, "bad")
	os.MkdirAll(filepath.Join(bad, "report.json"), 0o755)
	os.WriteFile(filepath.Join(bad, "weights.json"), []byte("old"), 0o644)
	so, se, code := runCLI("solve", file, "-o", bad)
	if code != exitError || strings.Contains(se, "iter") || !strings.Contains(se, "report.json is a folder") {
		t.Fatalf("report.json a folder: exit %d\n%s%s", code, so, se)
	}
	if b, _ := os.ReadFile(filepath.Join(bad, "weights.json")); string(b) != "old" {
		t.Fatal("weights.json changed")
	}
	// a folder with other files, a regular file, and -o ""
	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	os.WriteFile(filepath.Join(other, "notes.txt"), nil, 0o644)
	if _, se, code := runCLI("solve", file, "-o", other); code != exitError || !strings.Contains(se, "holds other files (notes.txt)") {
		t.Fatalf("folder with other files: exit %d %s", code, se)
	}
	if _, se, code := runCLI("solve", file, "-o", file); code != exitError || !strings.Contains(se, "not a folder") {
		t.Fatalf("-o a file: exit %d %s", code, se)
	}
	if _, se, code := runCLI("solve", file, "-o", ""); code != exitUsage || !strings.Contains(se, `-o ""`) {
		t.Fatalf(`-o "": exit %d %s`, code, se)
	}
}

// Item 6 (interrupts): SIGINT during the solve writes a report with status
// interrupted (exit 3) and a lower bound not above the recovered objective; a
// time limit gives status time_limit; SIGINT before the solve leaves the previous
// outputs untouched (exit 130).
func TestItem6Interrupts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a solve of several seconds")
	}
	dir := t.TempDir()
	file := write(t, dir, "slow.cnn", slowFC)
	out := filepath.Join(dir, "tl")
	// the deadline passes before the solver's first poll: status time_limit, always
	r := cli(t, dir, "solve", file, "-o", out, "-q", "--time-limit", "1ns")
	if r.code != exitNotSolved {
		t.Fatalf("--time-limit: exit %d\n%s", r.code, clipText(r.stderr))
	}
	rep := readReport(t, filepath.Join(out, "report.json"))
	if rep["status"] != "time_limit" {
		t.Fatalf("status %v", rep["status"])
	}
	if d, ok := rep["dual_objective"].(float64); ok && d > number(t, rep, "nonconvex_objective")*(1+1e-9) {
		t.Fatalf("lower bound %v above the recovered objective %v", d, rep["nonconvex_objective"])
	}
	if st := rep["settings"].(map[string]any); st["time_limit_seconds"] != 1e-9 {
		t.Fatalf("settings %v", st)
	}

	exe, _ := os.Executable()
	out2 := filepath.Join(dir, "int")
	cmd := exec.Command(exe, "solve", file, "-o", out2)
	cmd.Env = append(os.Environ(), "CNNC_AS_CLI=1")
	pr, pw, _ := os.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	buf := make([]byte, 1<<16)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "iter") {
		n, err := pr.Read(buf)
		seen.Write(buf[:n])
		if err != nil {
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	go func() {
		for {
			if _, err := pr.Read(buf); err != nil {
				return
			}
		}
	}()
	cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code == exitOK {
		t.Skip("the solve ended before the signal")
	}
	if code != exitNotSolved {
		t.Fatalf("SIGINT during the solve: exit %d, want 3 (a report with status interrupted)", code)
	}
	if rep := readReport(t, filepath.Join(out2, "report.json")); rep["status"] != "interrupted" {
		t.Fatalf("status %v", rep["status"])
	}
}

// slowFC takes a few seconds in the structured solver (75 IPM iterations).
const slowFC = `model net {
    input 2
    linear auto bias=true
    relu
    linear 1
}

data train {
    synthetic spiral n=150 seed=1 noise=0.05
}

train {
    beta 1e-5
    patterns sample 400 seed=1
}
`

// Item 7: settings the solver would override are errors in check; max_iters is
// honoured by the structured solver.
func TestItem7Settings(t *testing.T) {
	dir := t.TempDir()
	head := tinyFC[:strings.Index(tinyFC, "\ntrain {")+1]
	for _, c := range []struct{ stmt, col string }{{"solver native tol=0", "23"}, {"solver native tol=-1", "23"}, {"solver native max_iters=2.5", "29"}, {"solver native tolerance=1e-6", "19"}, {"solver nativ", "12"}} {
		file := write(t, dir, "s.cnn", head+"train {\n    "+c.stmt+"\n}\n")
		r := cli(t, dir, "check", "--no-data", file)
		col := 0
		json.Unmarshal([]byte(c.col), &col)
		wantDiag(t, r, exitError, "C0405", 13, col)
	}
	file := write(t, dir, "m.cnn", strings.Replace(tinyFC, "patterns exact", "patterns exact\n    solver native max_iters=3", 1))
	out := filepath.Join(dir, "o")
	so, se, code := runCLI("solve", file, "-o", out, "-q")
	if code != exitNotSolved {
		t.Fatalf("max_iters=3: exit %d\n%s%s", code, so, se)
	}
	r := readReport(t, filepath.Join(out, "report.json"))
	if r["status"] != "iteration_limit" || number(t, r, "iterations") > 3 {
		t.Fatalf("max_iters=3: status %v after %v iterations", r["status"], r["iterations"])
	}
	if st := r["settings"].(map[string]any); st["max_iters"] != 3.0 {
		t.Fatalf("settings %v", st)
	}
}

// Item 10: check runs the checks solve would fail on, at the offending line.
func TestItem10CheckRunsEverything(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "three.csv", "1,2,3,0.5\n4,5,6,0.25\n7,8,9,1.5\n")
	model := "model net {\n    input 2\n    linear auto\n    relu\n    linear 1\n}\n"
	cases := []struct {
		name, src string
		code      string
		line, col int
	}{
		// a fully connected network with two ReLU layers: the diagnostic points at the
		// second relu (docs/math/09-three-layer.md: the exact program needs branches)
		{"unsupported architecture", "model net {\n    input 2\n    linear auto\n    relu\n    linear 4\n    relu\n    linear 1\n}\n\ndata train {\n    synthetic spiral n=10\n}\n", "F0201", 6, 5},
		{"feature count", model + "\ndata train {\n    csv \"three.csv\"\n}\n", "F0120", 9, 5},
		{"classes on real targets", "model net {\n    input 3\n    linear auto\n    relu\n    linear 1\n}\n\ndata train {\n    csv \"three.csv\"\n    classes 0 1\n}\n", "F0122", 10, 5},
		{"hinge without ±1 labels", "model net {\n    input 3\n    linear auto\n    relu\n    linear 1\n}\n\ndata train {\n    csv \"three.csv\"\n}\n\ntrain {\n    loss hinge\n}\n", "F0203", 13, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := write(t, dir, "c.cnn", c.src)
			r := cli(t, dir, "check", file)
			wantDiag(t, r, exitError, c.code, c.line, c.col)
		})
	}
	// X/y row counts (NPY)
	writeNPY(t, filepath.Join(dir, "X.npy"), []int{3, 2})
	writeNPY(t, filepath.Join(dir, "y.npy"), []int{4})
	file := write(t, dir, "npy.cnn", model+"\ndata train {\n    npy \"X.npy\" \"y.npy\"\n}\n")
	wantDiag(t, cli(t, dir, "check", file), exitError, "F0113", 9, 5)
	// skipped checks are named
	nod := write(t, dir, "nodata.cnn", model)
	if r := cli(t, dir, "check", nod); r.code != exitOK || !strings.Contains(r.stderr, "skipped loading the data") {
		t.Fatalf("no data: exit %d, stderr %s", r.code, r.stderr)
	}
}

// writeNPY writes a little-endian float64 NPY file of zeros with the given shape.
func writeNPY(t *testing.T, path string, shape []int) {
	t.Helper()
	n := 1
	dims := make([]string, len(shape))
	for i, d := range shape {
		n *= d
		dims[i] = fmtInt(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (" + tuple + "), }"
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	b = append(b, hdr...)
	b = append(b, make([]byte, 8*n)...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Item 11: a FIFO as model or data fails at once; a folder as data is named a
// folder; a UTF-8 BOM is accepted; a non-UTF-8 byte in a name says so.
func TestItem11Inputs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.cnn")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFOs: %v", err)
	}
	r := cli(t, dir, "check", fifo)
	if r.code != exitError || !strings.Contains(r.stderr, "error[C0100]") || !strings.Contains(r.stderr, "FIFO") {
		t.Fatalf("FIFO model: exit %d %s", r.code, r.stderr)
	}
	dfifo := filepath.Join(dir, "data.csv")
	syscall.Mkfifo(dfifo, 0o644)
	os.Mkdir(filepath.Join(dir, "folder.csv"), 0o755)
	model := "model net {\n    input 2\n    linear auto\n    relu\n    linear 1\n}\n"
	f1 := write(t, dir, "f1.cnn", model+"\ndata train {\n    csv \"data.csv\"\n}\n")
	r = cli(t, dir, "check", f1)
	wantDiag(t, r, exitError, "C0304", 9, 9)
	if !strings.Contains(r.stderr, "not a regular file") {
		t.Fatalf("FIFO data: %s", r.stderr)
	}
	f2 := write(t, dir, "f2.cnn", model+"\ndata train {\n    csv \"folder.csv\"\n}\n")
	r = cli(t, dir, "check", f2)
	wantDiag(t, r, exitError, "C0304", 9, 9)
	if !strings.Contains(r.stderr, "is a folder") || strings.Contains(r.stderr, "not found") {
		t.Fatalf("folder as data: %s", r.stderr)
	}
	bom := write(t, dir, "bom.cnn", "\xef\xbb\xbf"+model)
	if so, se, code := runCLI("check", bom); code != exitOK {
		t.Fatalf("BOM: exit %d %s%s", code, so, se)
	}
	bad := write(t, dir, "bad.cnn", strings.Replace(model, "net", "n\xffet", 1))
	r = cli(t, dir, "check", bad)
	wantDiag(t, r, exitError, "S0101", 1, 8)
	if !strings.Contains(r.stderr, "not UTF-8") || strings.Contains(r.stderr, "without a name") {
		t.Fatalf("non-UTF-8 name: %s", r.stderr)
	}
}

// Item 9: a bound printed as certified is a lower bound in floating point on every
// path — on the conic path with exact patterns (ReLU + logistic, gated + logistic,
// gated + hinge: the cases) the report's dual_objective never exceeds its own
// recovered objective and its scope is global — and max pooling with exact patterns
// (an arrangement far from general position) is certified "global", not "restricted".
func TestItem9CertifiedBounds(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ act, loss string }{{"relu", "logistic"}, {"gated", "logistic"}, {"gated", "hinge"}} {
		src := strings.Replace(strings.Replace(tinyFC, "relu", c.act, 1), "\ntrain {\n", "\ntrain {\n    loss     "+c.loss+"\n    solver   conic\n", 1)
		file := write(t, dir, c.act+c.loss+".cnn", src)
		out := filepath.Join(dir, "out-"+c.act+c.loss)
		so, se, code := runCLI("solve", file, "-o", out, "-q")
		if code != exitOK && code != exitNotSolved {
			t.Fatalf("%s+%s: exit %d\n%s\n%s", c.act, c.loss, code, so, se)
		}
		r := readReport(t, filepath.Join(out, "report.json"))
		bound, obj := number(t, r, "dual_objective"), number(t, r, "nonconvex_objective")
		if !(bound <= obj) {
			t.Errorf("%s+%s: certified bound %.12g above the recovered objective %.12g", c.act, c.loss, bound, obj)
		}
		cert, _ := r["certificate"].(map[string]any)
		if cert == nil || cert["scope"] != "global" {
			t.Errorf("%s+%s: certificate %v, want scope global (exact patterns)", c.act, c.loss, cert)
		}
		t.Logf("%s+%s: status %v, bound %.12g ≤ objective %.12g", c.act, c.loss, r["status"], bound, obj)
	}
	mp := "model mp {\n    input   1x4x4\n    conv    2x2 stride=2\n    relu\n    maxpool global\n    linear  1\n}\n\ndata train {\n    synthetic planted n=5 seed=2\n}\n\ntrain {\n    beta     0.05\n    patterns exact\n}\n"
	file := write(t, dir, "mp.cnn", mp)
	out := filepath.Join(dir, "out-mp")
	if so, se, code := runCLI("solve", file, "-o", out, "-q"); code != exitOK {
		t.Fatalf("maxpool: exit %d\n%s\n%s", code, so, se)
	}
	r := readReport(t, filepath.Join(out, "report.json"))
	cert, _ := r["certificate"].(map[string]any)
	if cert == nil || cert["scope"] != "global" {
		t.Fatalf("maxpool with exact patterns: certificate %v, want scope global", cert)
	}
	if bound, obj := number(t, r, "dual_objective"), number(t, r, "nonconvex_objective"); !(bound <= obj) {
		t.Errorf("maxpool: certified bound %.12g above the recovered objective %.12g", bound, obj)
	}
}
