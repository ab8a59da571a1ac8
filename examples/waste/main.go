// Command waste sorts litter into the eight detect-waste classes with an
// EfficientNet, improved by self-training on an unlabelled pool.
//
// With no arguments it runs the demo on a built-in synthetic litter world;
// `waste <command> -h` documents each command. The work happens in the
// importable package examples/waste/app.
package main

import (
	"os"

	"github.com/sortnet/sortnet/examples/waste/app"
)

func main() { os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr)) }
