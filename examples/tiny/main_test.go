package main

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/layers"
)

func defaults() config {
	return config{Epochs: 4, Train: 512, Test: 256, Batch: 32, Size: 16, LR: 0.01, Seed: 1}
}

// The foundation's end-to-end check: a tiny conv net
// (conv → BN → SiLU → pool → linear) learns a 2-class image task to more
// than 95 % training accuracy in seconds.
func TestTinyConvNetLearns(t *testing.T) {
	c := defaults()
	c.Save = filepath.Join(t.TempDir(), "tiny.safetensors")
	var out bytes.Buffer
	res, err := run(c, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	if res.TrainAcc <= 0.95 {
		t.Fatalf("training accuracy %.3f, want > 0.95", res.TrainAcc)
	}
	if res.TestAcc <= 0.9 {
		t.Fatalf("test accuracy %.3f, want > 0.9", res.TestAcc)
	}
	// The saved weights load back into a fresh model and classify the same.
	m := newModel(rngFor(5))
	if err := layers.LoadModule(c.Save, m, true); err != nil {
		t.Fatal(err)
	}
	x, y := bars(64, c.Size, rngFor(99))
	if acc := accuracy(m, x, y); acc <= 0.9 {
		t.Fatalf("reloaded model: accuracy %.3f", acc)
	}
}

func TestTinySameSeedSameRun(t *testing.T) {
	c := defaults()
	c.Epochs, c.Train, c.Threads = 1, 128, 1
	var a, b bytes.Buffer
	ra, err := run(c, &a)
	if err != nil {
		t.Fatal(err)
	}
	c.Threads = 3 // results must not depend on the thread count
	rb, err := run(c, &b)
	if err != nil {
		t.Fatal(err)
	}
	if ra != rb {
		t.Fatalf("same seed, different results: %+v vs %+v", ra, rb)
	}
}

func TestTinyBadFlags(t *testing.T) {
	for _, mod := range []func(*config){
		func(c *config) { c.Batch = 1 },
		func(c *config) { c.LR = -1 },
		func(c *config) { c.Epochs = 0 },
	} {
		c := defaults()
		mod(&c)
		if _, err := run(c, &bytes.Buffer{}); err == nil || !strings.HasPrefix(err.Error(), "-") {
			t.Fatalf("%+v: error %v, want one naming the flag", c, err)
		}
	}
}

func rngFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }
