//go:build !race

package efficientdet_test

const raceBuild = false
