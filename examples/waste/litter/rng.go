package litter

import "math/rand/v2"

// mix is SplitMix64's finaliser: nearby inputs give unrelated outputs.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Streams separate the random choices of different products of one seed.
const (
	streamCrop    = 1
	streamScene   = 2
	streamLabel   = 3
	streamPreview = 4
)

// sampleRNG returns the generator of one sample: a PCG seeded from
// (seed, stream, split, index) alone, so sample i never depends on the
// samples generated before it and any number of goroutines produce the same
// images.
func sampleRNG(seed uint64, stream int, split Split, i int) *rand.Rand {
	s1 := mix(seed ^ mix(uint64(stream)<<32|uint64(split)))
	s2 := mix(uint64(i) ^ 0xd1b54a32d192ed03 ^ s1)
	return rand.New(rand.NewPCG(s1, s2))
}
