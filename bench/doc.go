// Package bench holds side-by-side benchmarks of sortnet against other Go
// libraries (gonum, gorgonia) and, through tools/bench_peers.py, PyTorch and
// OpenBLAS. It contains only benchmarks; nothing imports it.
//
// Run: go test -bench . ./bench/
//
// The benchmarks arrive with the kernels issue.
package bench
