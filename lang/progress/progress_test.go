package progress

import (
	"strings"
	"sync"
	"testing"
	"time"
)

type rec struct{ us []Update }

func (r *rec) Progress(u Update) { r.us = append(r.us, u) }

func TestTaskTiming(t *testing.T) {
	var nilTask *Task
	nilTask.Add(1) // must not panic
	nilTask.End()
	if Start(nil, "x", 1, "u") != nil {
		t.Fatal("nil reporter gave a task")
	}
	r := &rec{}
	tk := Start(r, "stage", 100, "units")
	tk.after, tk.every = 0, time.Hour
	tk.Set(10) // first update: after = 0
	tk.Set(20) // within every: dropped
	tk.End()
	if len(r.us) != 2 || r.us[0].Done != 10 || !r.us[1].Final || r.us[1].Done != 20 {
		t.Fatalf("updates %+v", r.us)
	}
	r2 := &rec{}
	quick := Start(r2, "quick", 0, "u")
	quick.Add(5)
	quick.End()
	if len(r2.us) != 0 {
		t.Fatalf("a stage shorter than After reported %+v", r2.us)
	}
}

func TestLine(t *testing.T) {
	got := Line(Update{Stage: "patterns sample", Unit: "gates", Done: 5, Total: 20, Elapsed: 3 * time.Second})
	if !strings.Contains(got, "5 of 20 gates (25.0%)") {
		t.Errorf("line %q", got)
	}
}

// TestTick: a Tick stage reports its elapsed time from its own clock, with no Add
// calls, until End, and End's final update is the last one.
func TestTick(t *testing.T) {
	r := &syncRec{}
	tk := tick(r, "certificate", 0, 10*time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); len(r.get()) < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	tk.End()
	us := r.get()
	if len(us) < 3 || !us[len(us)-1].Final {
		t.Fatalf("updates %+v", us)
	}
	for _, u := range us[:len(us)-1] {
		if u.Final || u.Stage != "certificate" {
			t.Fatalf("update %+v", u)
		}
	}
	n := len(us)
	time.Sleep(100 * time.Millisecond)
	if len(r.get()) != n {
		t.Fatal("an update after End")
	}
	if Tick(nil, "x") != nil {
		t.Fatal("nil reporter gave a task")
	}
	if got := Line(Update{Stage: "certificate", Elapsed: 4 * time.Second}); got != "cnnc: certificate: 4.0 s" {
		t.Errorf("line %q", got)
	}
	if got := Line(Update{Stage: "certificate", Elapsed: 4 * time.Second, Final: true}); got != "cnnc: certificate: done in 4.0 s" {
		t.Errorf("final line %q", got)
	}
}

type syncRec struct {
	mu sync.Mutex
	us []Update
}

func (r *syncRec) Progress(u Update) { r.mu.Lock(); r.us = append(r.us, u); r.mu.Unlock() }
func (r *syncRec) get() []Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Update(nil), r.us...)
}
