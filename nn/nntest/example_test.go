package nntest_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

// Check the gradients of a small composite function of two inputs.
func ExampleCheckGrad() {
	rng := rand.New(rand.NewPCG(1, 2))
	x := nn.Param(nntest.Rand(rng, -1, 1, 2, 3))
	w := nn.Param(nntest.Rand(rng, -1, 1, 3, 4))
	f := func() *nn.Var { return nn.SiLU(nn.MatMul(x, w)) }

	t := &testing.T{} // in a test, pass the test's own *testing.T
	bad := nntest.CheckGrad(t, f, []*nn.Var{x, w}, nntest.Options{})
	fmt.Println("mismatches:", bad)
	// Output: mismatches: 0
}
