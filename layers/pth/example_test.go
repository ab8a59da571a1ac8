package pth_test

import (
	"fmt"
	"log"
	"sort"

	"github.com/sortnet/sortnet/layers/pth"
)

func ExampleRead() {
	// A timm-style training checkpoint: {"epoch", "arch", "state_dict",
	// "state_dict_ema", "optimizer", "args", ...}. Read finds the
	// weights under "state_dict".
	sd, err := pth.Read("testdata/nested.pth")
	if err != nil {
		log.Fatal(err)
	}
	names := make([]string, 0, len(sd))
	for name := range sd {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Println(name, sd[name].Shape())
	}
	// Output:
	// bn.bias [4]
	// bn.num_batches_tracked []
	// bn.running_mean [4]
	// bn.running_var [4]
	// bn.weight [4]
	// conv.weight [4 3 3 3]
	// fc.bias [2]
	// fc.weight [2 4]
}

func ExampleReadWith() {
	path := "testdata/nested.pth"
	keys, err := pth.StateDicts(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(keys)

	ema, err := pth.ReadWith(path, pth.ReadOpts{Key: "state_dict_ema"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(ema), ema["fc.weight"].Shape(), ema["bn.num_batches_tracked"].Data())
	// Output:
	// [state_dict state_dict_ema]
	// 8 [2 4] [2]
}
