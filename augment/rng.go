package augment

import "math/rand/v2"

// splitmix64 is the finaliser of Steele, Lea and Flood's SplitMix64: a
// bijective mixer whose output bits each depend on every input bit.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// SampleSeeds returns the two 64-bit seeds of the PCG generator for one
// sample:
//
//	h  = splitmix64(splitmix64(splitmix64(seed) ^ epoch) ^ index)
//	s1 = h
//	s2 = splitmix64(h ^ 0x5851f42d4c957f2d)
//
// The function is part of the package's contract: a sample's augmentation
// depends only on (seed, epoch, index), never on which worker ran it or in
// what order, so a run is reproducible with any number of workers.
func SampleSeeds(seed, epoch, index uint64) (s1, s2 uint64) {
	h := splitmix64(splitmix64(splitmix64(seed)^epoch) ^ index)
	return h, splitmix64(h ^ 0x5851f42d4c957f2d)
}

// SampleRNG returns the random source for sample index of epoch epoch in a
// run seeded with seed: a math/rand/v2 PCG seeded with SampleSeeds.
func SampleRNG(seed, epoch, index uint64) *rand.Rand {
	return rand.New(rand.NewPCG(SampleSeeds(seed, epoch, index)))
}

// ReseedPCG reseeds p for (seed, epoch, index) without allocating; a worker
// can keep one PCG and one rand.Rand on top of it and reseed per sample.
func ReseedPCG(p *rand.PCG, seed, epoch, index uint64) {
	p.Seed(SampleSeeds(seed, epoch, index))
}

// uniform returns a value uniform in [lo, hi), Python's random.uniform.
func uniform(rng *rand.Rand, lo, hi float64) float64 {
	return lo + (hi-lo)*rng.Float64()
}

// randint returns an integer uniform in [lo, hi] (both inclusive), Python's
// random.randint.
func randint(rng *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + rng.IntN(hi-lo+1)
}
