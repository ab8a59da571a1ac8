// Command tiny trains a small convolutional network on a synthetic image
// task — is the bar in the picture horizontal or vertical? — and reports its
// accuracy. It exercises the whole foundation in a few seconds: NHWC
// tensors, autograd, Conv2d → BatchNorm2d → SiLU → global pooling → Linear,
// cross-entropy, Adam, buffer reuse, and safetensors files.
//
//	go run ./examples/tiny [-epochs 4] [-train 512] [-batch 32] [-seed 1] [-save tiny.safetensors]
//
// It stands in for the litter example (examples/waste) until that lands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

type config struct {
	Epochs, Train, Test, Batch, Size int
	LR                               float64
	Seed                             uint64
	Threads                          int
	Save                             string
}

func (c config) validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("-epochs %d: need at least 1", c.Epochs)
	case c.Train < 2 || c.Test < 1:
		return fmt.Errorf("-train %d, -test %d: need at least 2 training and 1 test image", c.Train, c.Test)
	case c.Batch < 2:
		return fmt.Errorf("-batch %d: batch norm needs at least 2 images per batch", c.Batch)
	case c.Size < 4:
		return fmt.Errorf("-size %d: images must be at least 4 pixels", c.Size)
	case !(c.LR > 0):
		return fmt.Errorf("-lr %g: must be positive", c.LR)
	}
	return nil
}

type result struct {
	TrainAcc, TestAcc float64
	FinalLoss         float64
}

func main() {
	c := config{}
	flag.IntVar(&c.Epochs, "epochs", 4, "passes over the training set")
	flag.IntVar(&c.Train, "train", 512, "training images")
	flag.IntVar(&c.Test, "test", 256, "held-out test images")
	flag.IntVar(&c.Batch, "batch", 32, "images per batch")
	flag.IntVar(&c.Size, "size", 16, "image side in pixels")
	flag.Float64Var(&c.LR, "lr", 0.01, "Adam learning rate")
	flag.Uint64Var(&c.Seed, "seed", 1, "seed for data, initialisation and shuffling")
	flag.IntVar(&c.Threads, "threads", 0, "compute threads (0: all cores)")
	flag.StringVar(&c.Save, "save", "", "write the trained weights to this safetensors file")
	flag.Parse()
	if _, err := run(c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tiny:", err)
		os.Exit(1)
	}
}

// bars returns n images of size×size×3 with a bright bar on a noisy
// background, and their labels: 0 for a horizontal bar, 1 for a vertical
// one. The bar's position, thickness and colour vary.
func bars(n, size int, rng *rand.Rand) (*nn.Tensor, []int) {
	x := nn.New(n, size, size, 3)
	labels := make([]int, n)
	d := x.Data()
	for i := 0; i < n; i++ {
		img := d[i*size*size*3 : (i+1)*size*size*3]
		for j := range img {
			img[j] = float32(rng.NormFloat64() * 0.3)
		}
		labels[i] = rng.IntN(2)
		pos, thick := rng.IntN(size-2), 1+rng.IntN(2)
		colour := [3]float32{0.5 + rng.Float32(), 0.5 + rng.Float32(), 0.5 + rng.Float32()}
		for a := pos; a < min(pos+thick, size); a++ {
			for b := 0; b < size; b++ {
				y, xx := a, b
				if labels[i] == 1 {
					y, xx = b, a
				}
				for c := 0; c < 3; c++ {
					img[(y*size+xx)*3+c] += colour[c]
				}
			}
		}
	}
	return x, labels
}

// newModel is conv → BN → SiLU → global average pool → linear.
func newModel(rng *rand.Rand) *layers.Sequential {
	return layers.NewSequential(
		layers.NewConv2d(3, 8, 3, layers.ConvConfig{Padding: nn.Pad(1)}, rng),
		layers.NewBatchNorm2d(8, layers.BNConfig{}),
		layers.SiLU{},
		layers.GlobalAvgPool{},
		layers.NewLinear(8, 2, rng),
	)
}

// batch copies the images at idx into a new [len(idx), H, W, C] tensor.
func batch(x *nn.Tensor, labels []int, idx []int) (*nn.Tensor, []int) {
	per := x.Len() / x.Dim(0)
	shape := append([]int{len(idx)}, x.Shape()[1:]...)
	b := nn.New(shape...)
	bl := make([]int, len(idx))
	for k, i := range idx {
		copy(b.Data()[k*per:(k+1)*per], x.Data()[i*per:(i+1)*per])
		bl[k] = labels[i]
	}
	return b, bl
}

// accuracy classifies x in evaluation mode.
func accuracy(m layers.Layer, x *nn.Tensor, labels []int) float64 {
	layers.SetTraining(m, false)
	defer layers.SetTraining(m, true)
	var logits *nn.Var
	nn.NoGrad(func() { logits = m.Forward(nn.NewVar(x)) })
	k := logits.Value.Dim(1)
	right := 0
	for i, l := range labels {
		row := logits.Value.Data()[i*k : (i+1)*k]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if best == l {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}

func run(c config, out io.Writer) (result, error) {
	if err := c.validate(); err != nil {
		return result{}, err
	}
	if c.Threads > 0 {
		defer nn.SetThreads(nn.SetThreads(c.Threads))
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x7e57))
	xTrain, yTrain := bars(c.Train, c.Size, rng)
	xTest, yTest := bars(c.Test, c.Size, rng)
	model := newModel(rng)
	opt, err := optim.NewAdam(layers.Params(model), optim.AdamConfig{LR: c.LR})
	if err != nil {
		return result{}, err
	}
	fmt.Fprintf(out, "tiny: %d parameters, %d training and %d test images of %dx%d, %d threads\n",
		layers.CountParams(model), c.Train, c.Test, c.Size, c.Size, nn.Threads())

	var res result
	order := make([]int, c.Train)
	for i := range order {
		order[i] = i
	}
	start := time.Now()
	for epoch := 1; epoch <= c.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var sum float64
		steps := 0
		for lo := 0; lo+c.Batch <= c.Train; lo += c.Batch {
			x, y := batch(xTrain, yTrain, order[lo:lo+c.Batch])
			loss := nn.CrossEntropy(model.Forward(nn.NewVar(x)), y, nn.CEOpts{})
			l := float64(loss.Value.Item())
			if l != l {
				return res, errors.New("loss became NaN; lower -lr")
			}
			opt.ZeroGrad()
			loss.Backward()
			opt.Step()
			loss.Release()
			sum += l
			steps++
		}
		res.FinalLoss = sum / float64(steps)
		fmt.Fprintf(out, "epoch %d/%d  loss %.4f  %.0f img/s\n", epoch, c.Epochs, res.FinalLoss,
			float64(epoch*steps*c.Batch)/time.Since(start).Seconds())
	}
	res.TrainAcc = accuracy(model, xTrain, yTrain)
	res.TestAcc = accuracy(model, xTest, yTest)
	fmt.Fprintf(out, "accuracy: train %.1f%%, test %.1f%%\n", 100*res.TrainAcc, 100*res.TestAcc)
	if c.Save != "" {
		if err := layers.SaveModule(c.Save, model, map[string]string{"model": "tiny"}); err != nil {
			return res, err
		}
		fmt.Fprintf(out, "saved weights to %s\n", c.Save)
	}
	return res, nil
}
