// Package bench holds side-by-side benchmarks of sortnet against other Go
// libraries (gonum, gorgonia) and, through tools/bench_peers.py, PyTorch and
// OpenBLAS. It contains only benchmarks (and checks of what they measure);
// nothing imports it.
//
// Run: go test -bench . ./bench/
//
// The thread count is GOMAXPROCS, set in the environment for each run
// (GOMAXPROCS=1 go test ..., GOMAXPROCS=2 go test ...), not with -cpu:
// go test measures a b.Loop benchmark's first -cpu line before it sets
// GOMAXPROCS (golang/go#49980), and the worker pool follows GOMAXPROCS
// (each benchmark sets nn.SetThreads from it).
//
// BenchmarkLayers/<layer>/<fwd|fwdbwd> times single EfficientNet-B0 layers
// at batch 8 through the nn ops: stem_3x3s2_3to32_224, pw_96to24_56,
// pw_144to24_56, pw_24to144_56, dw3x3_144_56, dw5x5_240_28. GFLOP/s counts
// 2·N·OutH·OutW·Cout·K·K·Cin/groups per forward pass, 3× that per forward
// and backward (input and weight gradients), 2× for the stem, whose input
// needs no gradient.
//
// BenchmarkPeers names each case <library>_<work>/<size>, e.g.
// gonum_sgemm/1024 beside sortnet_sgemm/1024. The gorgonia peer,
// gorgonia_conv3x3_32to64_56_b8 beside sortnet_conv3x3_32to64_56_b8 (and
// their _fwdbwd forms), lives in the module bench/peers, so that gorgonia
// and its dependencies stay out of sortnet's go.mod: run it with
// cd bench/peers && go test -bench . (go test ./... from the repository
// root does not reach it).
//
// One command measures everything side by side — sortnet's benchmarks
// with GOMAXPROCS=1 and 2, numpy/OpenBLAS SGEMM, PyTorch (CPU,
// channels_last, the same threads) on the six layers, gorgonia and
// gonum — interleaved over a few rounds on a shared machine, keeping the
// best window of each, and prints Go-style lines and tables of ratios:
//
//	/usr/bin/python3 tools/bench_peers.py
//	/usr/bin/python3 tools/bench_peers.py --sections layers   # layers and Go peers only
//
// (/usr/bin/python3: the interpreter with python3-torch and python3-numpy.)
package bench
