package litter_test

import (
	"fmt"
	"testing"

	"github.com/sortnet/sortnet/examples/waste/litter"
)

// BenchmarkCrop draws classifier crops: the world of the crop's scene, the
// window at the crop size, camera blur, noise and the JPEG round trip.
func BenchmarkCrop(b *testing.B) {
	for _, size := range []int{64, 128} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			cfg := litter.Config{Seed: 1, Train: 1 << 20, Size: size}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := litter.Crop(cfg, litter.Train, i); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

// BenchmarkScene draws 512×384 detector scenes.
func BenchmarkScene(b *testing.B) {
	cfg := litter.Config{Seed: 1, SceneTrain: 1 << 20}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := litter.Scene(cfg, litter.Train, i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "img/s")
}
