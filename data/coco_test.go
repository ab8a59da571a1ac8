package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cocoGood = `{
 "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
            {"id": 2, "file_name": "b.jpg", "width": 50, "height": 50}],
 "categories": [{"id": 7, "name": "glass"}, {"id": 3, "name": "paper"}],
 "annotations": [
  {"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 10, 20, 30]},
  {"id": 2, "image_id": 1, "category_id": 3, "bbox": [90, 70, 11, 10], "area": 5, "iscrowd": 1},
  {"id": 3, "image_id": 2, "category_id": 3, "bbox": [5, 5, 0, 10]},
  {"id": 4, "image_id": 2, "category_id": 7, "bbox": [-1, 0, 10, 10]}
 ]}`

func TestDecodeCOCO(t *testing.T) {
	c, st, err := DecodeCOCO(strings.NewReader(cocoGood))
	if err != nil {
		t.Fatal(err)
	}
	if st.Degenerate != 1 || st.Clipped != 2 || st.Annotations != 3 || st.Images != 2 {
		t.Fatalf("stats %+v", st)
	}
	if a := c.Annotations[0]; a.Area != 600 || a.Box() != (Box{X1: 10, Y1: 10, X2: 30, Y2: 40}) {
		t.Fatalf("annotation 1: %+v", a)
	}
	if a := c.Annotations[1]; a.BBox != [4]float64{90, 70, 10, 10} || a.Area != 5 || a.IsCrowd != 1 {
		t.Fatalf("clipped annotation: %+v", a)
	}
	idx, names := c.CategoryIndex()
	if idx[3] != 0 || idx[7] != 1 || names[0] != "paper" {
		t.Fatalf("category index %v %v", idx, names)
	}
	if len(c.ByImage()[2]) != 1 {
		t.Fatal("ByImage")
	}
	path := filepath.Join(t.TempDir(), "out.json")
	if err := WriteCOCO(path, c); err != nil {
		t.Fatal(err)
	}
	if _, st2, err := ReadCOCO(path); err != nil || st2.Annotations != 3 || st2.Clipped != 0 {
		t.Fatalf("round trip: %+v %v", st2, err)
	}
}

func TestCOCOErrors(t *testing.T) {
	cases := map[string]string{
		"not json":         `{"images": [`,
		"unknown image id": `{"images":[{"id":1,"file_name":"a","width":9,"height":9}],"categories":[{"id":1,"name":"x"}],"annotations":[{"id":5,"image_id":2,"category_id":1,"bbox":[0,0,1,1]}]}`,
		"unknown category": `{"images":[{"id":1,"file_name":"a","width":9,"height":9}],"categories":[{"id":1,"name":"x"}],"annotations":[{"id":5,"image_id":1,"category_id":4,"bbox":[0,0,1,1]}]}`,
		"outside":          `{"images":[{"id":1,"file_name":"a","width":9,"height":9}],"categories":[{"id":1,"name":"x"}],"annotations":[{"id":5,"image_id":1,"category_id":1,"bbox":[5,5,20,1]}]}`,
		"appears twice":    `{"images":[{"id":1,"file_name":"a","width":9,"height":9},{"id":1,"file_name":"b","width":9,"height":9}],"categories":[{"id":1,"name":"x"}]}`,
		"has size":         `{"images":[{"id":1,"file_name":"a","width":0,"height":9}],"categories":[{"id":1,"name":"x"}]}`,
		"no images":        `{"images":[],"categories":[{"id":1,"name":"x"}]}`,
	}
	for want, js := range cases {
		_, _, err := DecodeCOCO(strings.NewReader(js))
		if err == nil {
			t.Fatalf("%s: accepted", want)
		}
		if want != "not json" && !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	if _, _, err := ReadCOCO(filepath.Join(t.TempDir(), "missing.json")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzDecodeCOCO(f *testing.F) {
	f.Add([]byte(cocoGood))
	f.Add([]byte(`{"images":[{"id":1,"file_name":"a","width":9,"height":9}],"categories":[{"id":1,"name":"x"}],"annotations":[{"id":5,"image_id":1,"category_id":1,"bbox":[1e308,0,1e308,1]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _, err := DecodeCOCO(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, a := range c.Annotations {
			bx := a.Box()
			if !(bx.X2 > bx.X1 && bx.Y2 > bx.Y1) {
				t.Fatalf("kept degenerate box %v", a.BBox)
			}
		}
	})
}
