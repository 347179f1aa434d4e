// Package bench holds keyadm's benchmarks at the scale of a large tenant
// (`make bench`; results in BENCHMARKS.md). Each figure is measured next to
// its floor in the same run: the least work the same database can do for
// the same answer.
package bench
