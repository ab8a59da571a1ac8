package efficientdet

import (
	"fmt"

	"github.com/sortnet/sortnet/efficientnet"
)

// fpnNode is one node of a BiFPN cell: the level it produces and the
// indices of its inputs among the cell's nodes so far (0 … L-1 are the
// cell's inputs P3 … P(3+L-1), then one per node in order), as effdet's
// fpn_config "inputs_offsets".
type fpnNode struct {
	level  int
	inputs []int
	// inChannels holds, per input, its channel count in the cell this
	// node belongs to (the backbone's for a first cell's C3–C5).
	inChannels []int
}

// fpnPlan is the resolved BiFPN: the backbone features it starts from, the
// extra levels made by resampling and every cell's nodes.
type fpnPlan struct {
	featIdx  []int // backbone FeatureInfo indices of C3, C4, C5
	featChan []int // their channels
	extraIn  []int // input channels of the resampling that makes P6, P7, …
	cells    [][]fpnNode
}

// bifpnNodes returns the nodes of a BiFPN cell over levels
// MinLevel…maxLevel (effdet's bifpn_config): a top-down path P(max-1)' …
// P3' where each node fuses its level's input with the (upsampled) node
// above, then a bottom-up path P4” … Pmax” where each node fuses every
// earlier node of its level with the (downsampled) node below. The cell's
// outputs are the last node of each level, in level order — exactly the
// last L nodes.
func bifpnNodes(maxLevel int) []fpnNode {
	ids := map[int][]int{}
	n := maxLevel - MinLevel + 1
	for i := range n {
		ids[MinLevel+i] = []int{i}
	}
	last := func(l int) int { return ids[l][len(ids[l])-1] }
	next := n
	var nodes []fpnNode
	for l := maxLevel - 1; l >= MinLevel; l-- {
		nodes = append(nodes, fpnNode{level: l, inputs: []int{last(l), last(l + 1)}})
		ids[l] = append(ids[l], next)
		next++
	}
	for l := MinLevel + 1; l <= maxLevel; l++ {
		in := append(append([]int(nil), ids[l]...), last(l-1))
		nodes = append(nodes, fpnNode{level: l, inputs: in})
		ids[l] = append(ids[l], next)
		next++
	}
	return nodes
}

// backboneFeatures finds the backbone's feature maps at strides 8, 16 and
// 32 (C3, C4, C5).
func backboneFeatures(bp efficientnet.Plan) (idx, ch []int, err error) {
	for _, want := range []int{8, 16, 32} {
		found := false
		for i, f := range bp.Features {
			if f.Reduction == want {
				idx, ch = append(idx, i), append(ch, f.Channels)
				found = true
				break
			}
		}
		if !found {
			return nil, nil, fmt.Errorf("efficientdet: the backbone has no feature map at stride %d (it has %v)", want, bp.Features)
		}
	}
	return idx, ch, nil
}

// fpnPlan resolves the BiFPN of a resolved config over backbone plan bp.
func (c Config) fpnPlan(bp efficientnet.Plan) (fpnPlan, error) {
	idx, ch, err := backboneFeatures(bp)
	if err != nil {
		return fpnPlan{}, err
	}
	p := fpnPlan{featIdx: idx, featChan: ch}
	f := c.FPNChannels
	prev := ch[len(ch)-1]
	for l := MinLevel + len(ch); l <= c.MaxLevel; l++ {
		p.extraIn = append(p.extraIn, prev)
		prev = f
	}
	// Channels of the cell inputs: the backbone's in the first cell, the
	// BiFPN width afterwards; every node outputs the BiFPN width.
	in := make([]int, c.numLevels())
	for i := range in {
		in[i] = f
		if i < len(ch) {
			in[i] = ch[i]
		}
	}
	for range c.FPNCells {
		nodes := bifpnNodes(c.MaxLevel)
		chans := append([]int(nil), in...)
		for i := range nodes {
			for _, o := range nodes[i].inputs {
				nodes[i].inChannels = append(nodes[i].inChannels, chans[o])
			}
			chans = append(chans, f)
		}
		p.cells = append(p.cells, nodes)
		for i := range in {
			in[i] = f
		}
	}
	return p, nil
}
