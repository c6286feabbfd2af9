package progress

import (
	"strings"
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
