package group

import (
	"fmt"
	"os"
	"testing"
)

func TestH17Timing(t *testing.T) {
	if os.Getenv("H17") == "" {
		t.Skip()
	}
	p := fcProgram(1, 200, 10, 100, 1e-3, false, false, true)
	mn := 1e9
	for i := 0; i < 6; i++ {
		res, _ := Solve(p, nil, Settings{}, nil)
		if res.Seconds < mn {
			mn = res.Seconds
		}
	}
	fmt.Println("min solve secs", mn)
}
