//go:build race

package kernels

const sgemmRace = true
