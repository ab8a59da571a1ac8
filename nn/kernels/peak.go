package kernels

//go:generate sh -c "cd _gen && go run ./peak -out ../peak_amd64.s -stubs ../peak_stubs_amd64.go -pkg kernels"

// fmaPeakChains is the number of independent FMA chains fmaPeak runs.
const fmaPeakChains = 12

// fmaPeak runs n iterations of fmaPeakChains independent vector FMAs of the
// implementation's width on registers alone and stores a sum of their
// accumulators in out[0]. It exists for BenchmarkPeak, which measures the
// FLOP rate a core delivers under load (its real clock, boost included,
// times its FMA throughput): the reference for every kernel's %peak.
var fmaPeak = fmaPeakGeneric

// fmaPeakLanes is the vector width of fmaPeak in float32 lanes.
var fmaPeakLanes = 1

var _ = onImpl(Generic, func() { fmaPeak, fmaPeakLanes = fmaPeakGeneric, 1 })

// fmaPeakGeneric is the scalar reference: fmaPeakChains chains of one lane.
func fmaPeakGeneric(n int, out []float32) {
	var acc [fmaPeakChains]float32
	x, y := float32(0), float32(0)
	for range n {
		for i := range acc {
			acc[i] = acc[i]*x + y
		}
	}
	var s float32
	for _, a := range acc {
		s += a
	}
	out[0] = s
}
