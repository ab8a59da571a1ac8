//go:build !race

package efficientnet_test

const raceBuild = false
