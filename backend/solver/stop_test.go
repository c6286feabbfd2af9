package solver

import (
	"context"
	"testing"
	"time"
)

func TestStop(t *testing.T) {
	if s := Stop(nil); s != "" {
		t.Fatalf("nil context: %q, want \"\"", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if s := Stop(ctx); s != "" {
		t.Fatalf("live context: %q, want \"\"", s)
	}
	cancel()
	if s := Stop(ctx); s != Interrupted {
		t.Fatalf("cancelled context: %q, want %q", s, Interrupted)
	}
	dl, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if s := Stop(dl); s != TimeLimit {
		t.Fatalf("expired deadline: %q, want %q", s, TimeLimit)
	}
}
