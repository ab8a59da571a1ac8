package kernels

// The generic per-channel loops (see channel.go): the specification of the
// SIMD kernels of _gen/channel and _gen/elementwise (bnApply), which must
// give the same bits. Rows are r < rows, channels j < c, element (r, j) is
// at r*stride + j. The float32() and float64() conversions keep the
// compiler from fusing a multiply and an add (it may where GOAMD64 is v3
// or above; .ci/run runs the bit-identity tests in such a build).

// chanMomentsGeneric adds d to s1[j] and d·d to s2[j] for the rows in
// order, with d = float64(x[r, j]) - float64(shift[j]). The running sums
// continue from s1 and s2: a block of rows split into calls sums as one.
func chanMomentsGeneric(x []float32, rows, stride, c int, shift []float32, s1, s2 []float64) {
	s1, s2, shift = s1[:c], s2[:c], shift[:c]
	for r := 0; r < rows; r++ {
		row := x[r*stride : r*stride+c]
		for j, v := range row {
			d := float64(v) - float64(shift[j])
			s1[j] += d
			s2[j] += float64(d * d)
		}
	}
}

// chanDySumsGeneric adds float64(g) to s1[j] and float64(g·(x[r, j] -
// mean[j])) (the product in float32) to s2[j], g = dy[r, j], for the rows
// in order, continuing from s1 and s2 as chanMomentsGeneric does.
func chanDySumsGeneric(dy, x []float32, rows, stride, c int, mean []float32, s1, s2 []float64) {
	s1, s2, mean = s1[:c], s2[:c], mean[:c]
	for r := 0; r < rows; r++ {
		g, xr := dy[r*stride:r*stride+c], x[r*stride:r*stride+c]
		for j, v := range g {
			s1[j] += float64(v)
			s2[j] += float64(v * (xr[j] - mean[j]))
		}
	}
}

// chanSumGeneric sets out[j] = Σ_r x[r, j] in float32, from zero, rows in
// order.
func chanSumGeneric(out, x []float32, rows, stride, c int) {
	out = out[:c]
	clear(out)
	for r := 0; r < rows; r++ {
		for j, v := range x[r*stride : r*stride+c] {
			out[j] += v
		}
	}
}

// chanDotGeneric adds a[r, j]·b[r, j] to out[j] for the rows in order, each
// product rounded, in float32.
func chanDotGeneric(out, a, b []float32, rows, stride, c int) {
	out = out[:c]
	for r := 0; r < rows; r++ {
		br := b[r*stride : r*stride+c]
		for j, v := range a[r*stride : r*stride+c] {
			out[j] = out[j] + float32(v*br[j])
		}
	}
}

// chanMulGeneric sets y[r, j] = x[r, j]·s[j].
func chanMulGeneric(y, x []float32, rows, stride, c int, s []float32) {
	s = s[:c]
	for r := 0; r < rows; r++ {
		yr := y[r*stride : r*stride+c]
		for j, v := range x[r*stride : r*stride+c] {
			yr[j] = v * s[j]
		}
	}
}

// chanMulAddGeneric adds dy[r, j]·s[j] (rounded) to dx[r, j].
func chanMulAddGeneric(dx, dy []float32, rows, stride, c int, s []float32) {
	s = s[:c]
	for r := 0; r < rows; r++ {
		d := dx[r*stride : r*stride+c]
		for j, v := range dy[r*stride : r*stride+c] {
			d[j] = d[j] + float32(v*s[j])
		}
	}
}

// chanAddGeneric adds t[j] to dx[r, j].
func chanAddGeneric(dx []float32, rows, stride, c int, t []float32) {
	t = t[:c]
	for r := 0; r < rows; r++ {
		d := dx[r*stride : r*stride+c]
		for j := range d {
			d[j] += t[j]
		}
	}
}

// chanBNGradGeneric adds (a[j]·g + b[j]·(x-mean[j])) + d[j] to dx[r, j],
// g = dy[r, j], x = x[r, j], every operation rounded in this order.
func chanBNGradGeneric(dx, dy, x []float32, rows, stride, c int, mean, a, b, d []float32) {
	chanBNGradRows(dx, dy, x, rows, stride, c, mean, a, b, d, false)
}

// chanBNGradSetGeneric is chanBNGradGeneric writing dx rather than adding
// to it: dx[i] = (a*g + b*(x-mean)) + d.
func chanBNGradSetGeneric(dx, dy, x []float32, rows, stride, c int, mean, a, b, d []float32) {
	chanBNGradRows(dx, dy, x, rows, stride, c, mean, a, b, d, true)
}

func chanBNGradRows(dx, dy, x []float32, rows, stride, c int, mean, a, b, d []float32, set bool) {
	mean, a, b, d = mean[:c], a[:c], b[:c], d[:c]
	for r := 0; r < rows; r++ {
		dr, xr := dx[r*stride:r*stride+c], x[r*stride:r*stride+c]
		for j, g := range dy[r*stride : r*stride+c] {
			t := float32(a[j]*g) + float32(b[j]*(xr[j]-mean[j]))
			t = t + d[j]
			if set {
				dr[j] = t
			} else {
				dr[j] = dr[j] + t
			}
		}
	}
}

// bnApplyRowsGeneric sets y[r, j] = a or SiLU(a) (silu) for a =
// x[r, j]·scale[j] + shift[j] (two roundings), rows of c elements; with
// silu and z not nil it also sets z[r, j] = a.
func bnApplyRowsGeneric(y, z, x []float32, rows, c int, scale, shift []float32, silu bool) {
	scale, shift = scale[:c], shift[:c]
	for r := 0; r < rows; r++ {
		xr, yr := x[r*c:r*c+c], y[r*c:r*c+c]
		ar := yr
		if silu && z != nil {
			ar = z[r*c : r*c+c]
		}
		for j, v := range xr {
			ar[j] = float32(v*scale[j]) + shift[j]
		}
		if silu {
			siluGeneric(yr, ar)
		}
	}
}
