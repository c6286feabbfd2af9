package solver

import (
	"context"
	"errors"
)

// Interrupted is the status of a solve stopped from outside (Ctrl-C, SIGTERM) before
// its certificate was met. Like TimeLimit it is a result, not an error: the solver
// returns its best point with the bracket it has certified so far.
const Interrupted Status = "interrupted"

// Stop tells a solver whether it must end early, and with which status. It returns
// "" while ctx allows going on (always for a nil ctx), TimeLimit once ctx's deadline
// has passed, and Interrupted once ctx was cancelled for any other reason.
//
// The contract for every solver that takes a context: poll Stop at least once per
// iteration, and often enough inside long iterations that a stop is honoured within
// about a second; then return the best iterate found so far with its certified
// bracket and the returned status (never Optimal unless the certificate is met).
// Callers express a wall-clock limit as a context deadline (context.WithTimeout).
func Stop(ctx context.Context) Status {
	if ctx == nil {
		return ""
	}
	err := ctx.Err()
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return TimeLimit
	default:
		return Interrupted
	}
}
