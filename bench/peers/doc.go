// Package peers benchmarks sortnet beside gorgonia (gorgonia.org/gorgonia)
// on the same convolution. It is a module of its own so that gorgonia and
// its dependencies stay out of sortnet's go.mod: `go test ./...` from the
// repository root does not build it. Run it from this directory:
//
//	cd bench/peers && GOMAXPROCS=1 go test -run '^$' -bench . && GOMAXPROCS=2 go test -run '^$' -bench .
//
// or through tools/bench_peers.py (section layers), which prints these
// figures beside sortnet's BenchmarkLayers and PyTorch's.
package peers
