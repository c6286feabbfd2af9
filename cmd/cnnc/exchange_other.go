//go:build !linux

package main

import "errors"

// renameExchange is not available here: the caller falls back to two renames.
func renameExchange(a, b string) error { return errors.New("no atomic exchange on this system") }
