package kernels

import "math"

// The generic elementwise loops: the specification of the kernels in
// elementwise.go and the oracle of any SIMD version. Callers have checked
// that all slices have the same length.

func reluGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = max(x, 0)
	}
}

func reluBackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		if v > 0 {
			dx[i] += dy[i]
		}
	}
}

func relu6Generic(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = min(max(x, 0), 6)
	}
}

func relu6BackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		if v > 0 && v < 6 {
			dx[i] += dy[i]
		}
	}
}

// sigmoid64 is 1/(1+e^-x) in float64: exp overflows to +Inf for x < -709,
// giving exactly 0, and underflows to 0 for x > 745, giving exactly 1.
func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func sigmoidGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = float32(sigmoid64(float64(x)))
	}
}

func sigmoidBackwardGeneric(dx, y, dy []float32) {
	y, dy = y[:len(dx)], dy[:len(dx)]
	for i, s := range y {
		dx[i] += dy[i] * s * (1 - s)
	}
}

func siluGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		if math.IsInf(float64(x), -1) {
			dst[i] = 0
			continue
		}
		x := float64(x)
		dst[i] = float32(x * sigmoid64(x))
	}
}

func siluBackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		var d float64
		switch {
		case math.IsInf(float64(v), -1):
			d = 0
		case math.IsInf(float64(v), 1):
			d = 1
		default:
			v := float64(v)
			s := sigmoid64(v)
			d = s * (1 + v*(1-s))
		}
		dx[i] += dy[i] * float32(d)
	}
}

func tanhGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = float32(math.Tanh(float64(x)))
	}
}

func tanhBackwardGeneric(dx, y, dy []float32) {
	y, dy = y[:len(dx)], dy[:len(dx)]
	for i, t := range y {
		dx[i] += dy[i] * (1 - t*t)
	}
}

func hardSigmoidGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = min(max(x+3, 0), 6) / 6
	}
}

func hardSigmoidBackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		if v > -3 && v < 3 {
			dx[i] += dy[i] / 6
		}
	}
}

func hardSwishGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		switch {
		case x <= -3:
			dst[i] = 0
		case x >= 3:
			dst[i] = x
		default: // NaN lands here and propagates
			dst[i] = x * (x + 3) / 6
		}
	}
}

func hardSwishBackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		switch {
		case v < -3:
		case v < 3:
			dx[i] += dy[i] * (v/3 + 0.5)
		default: // v >= 3, or NaN
			dx[i] += dy[i]
		}
	}
}

// phi64 is Φ(x), the standard normal CDF; erfc keeps it accurate in the
// lower tail.
func phi64(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func geluGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		if math.IsInf(float64(x), -1) {
			dst[i] = 0
			continue
		}
		x := float64(x)
		dst[i] = float32(x * phi64(x))
	}
}

func geluBackwardGeneric(dx, x, dy []float32) {
	const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		var d float64
		switch {
		case math.IsInf(float64(v), -1):
			d = 0
		case math.IsInf(float64(v), 1):
			d = 1
		default:
			v := float64(v)
			d = phi64(v) + v*invSqrt2Pi*math.Exp(-0.5*v*v)
		}
		dx[i] += dy[i] * float32(d)
	}
}
