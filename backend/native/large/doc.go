// Package large is the structured native solver for template programs with many
// samples (work in progress).
package large
