package main

import "cnnc/compiler/train"

// The native solvers as the pipeline wires them by default (kept as names for tests).
var (
	groupSolver = train.NativeTemplate
	coneSolver  = train.NativeConic
)
