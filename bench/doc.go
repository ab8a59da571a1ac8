// Package bench holds side-by-side benchmarks of sortnet against other Go
// libraries (gonum, gorgonia) and, through tools/bench_peers.py, PyTorch and
// OpenBLAS. It contains only benchmarks (and a check of kernels.Sgemm
// against gonum); nothing imports it.
//
// Run: go test -bench . ./bench/
//
// BenchmarkPeers names each case <library>_<work>/<size>, e.g.
// gonum_sgemm/1024 beside sortnet_sgemm/1024; both use GOMAXPROCS threads
// (GOMAXPROCS=2 go test -bench . ./bench/). tools/bench_peers.py adds
// numpy/OpenBLAS (and PyTorch) figures measured in the same run.
package bench
