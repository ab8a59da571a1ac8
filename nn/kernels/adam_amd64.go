//go:build amd64 && gc && !noasm

package kernels

// adamSIMD runs the whole 8-lane vectors through adamAVX2 and the rest
// through the generic loop. The AVX-512 implementation runs it too: the
// update is memory-bound, and about 1 % of an EfficientNet-B2 training
// step even in the scalar loop.
func adamSIMD(w, g, m, v []float32, a *Adam) {
	k := len(w) &^ 7
	if k > 0 {
		mode := 0
		if a.Decoupled {
			mode |= adamDecoupled
		}
		if a.L2 != 0 {
			mode |= adamL2
		}
		c := [adamConsts]float32{a.B1, a.C1, a.B2, a.C2, a.NegStep, a.BC2Sqrt, a.Eps, a.L2, a.Shrink}
		adamAVX2(w[:k], g, m, v, &c, mode)
	}
	if k < len(w) {
		adamGeneric(w[k:], g[k:], m[k:], v[k:], nil, a)
	}
}

// adamConsts is the number of constants adamAVX2 takes, in Adam's field
// order from B1 to Shrink.
const adamConsts = 9

// Mode bits of adamAVX2.
const (
	adamDecoupled = 1
	adamL2        = 2
)

var (
	_ = onImpl(AVX2, func() { adamImpl = adamSIMD })
	_ = onImpl(AVX512, func() { adamImpl = adamSIMD })
)
