//go:build race

package efficientdet_test

// raceBuild is set under -race, where sync.Pool drops a quarter of what
// it is given on purpose, so allocation counts say nothing.
const raceBuild = true
