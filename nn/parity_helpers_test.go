package nn_test

import (
	"testing"

	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/nn"
)

// Tolerances for parity with the PyTorch fixtures under testdata/. Both
// sides compute in float32 (with float64 statistics and loss sums here), so
// rel 1e-4 / abs 1e-5 leaves room for differences in summation order.
const parityRTol, parityATol = 1e-4, 1e-5

// closeTo compares a tensor with its PyTorch reference.
func closeTo(t *testing.T, what string, got, want *nn.Tensor) {
	t.Helper()
	if got.Len() != want.Len() { // BN fixtures keep torch's [C] or [N,C] shapes
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
		return
	}
	if ok, msg := fixture.Close(got.Data(), want.Data(), parityRTol, parityATol); !ok {
		t.Errorf("%s: %s", what, msg)
	}
}

// backwardWith runs Backward on sum(y * up), so the gradients are those of
// PyTorch's y.backward(up); with up nil, y must be a scalar.
func backwardWith(y *nn.Var, up *nn.Tensor) {
	if up == nil {
		y.Backward()
		return
	}
	nn.Sum(nn.Mul(y, nn.NewVar(up))).Backward()
}
