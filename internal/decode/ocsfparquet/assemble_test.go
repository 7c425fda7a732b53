package ocsfparquet

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type point struct {
	X *int64   `parquet:"x,optional" json:"x"`
	Y []string `parquet:"y,list,optional" json:"y"`
}

type nested struct {
	Items  []point            `parquet:"items,list,optional" json:"items"`
	Labels map[string]string  `parquet:"labels,optional" json:"labels"`
	Deep   *struct{ A *deep } `parquet:"deep,optional" json:"deep"`
}

type deep struct {
	Lists [][]int64 `parquet:"lists,list" json:"lists"`
	Name  string    `parquet:"name" json:"name"`
}

type rec struct {
	Metadata *struct {
		UID string `parquet:"uid" json:"uid"`
	} `parquet:"metadata,optional" json:"metadata"`
	Time     int64    `parquet:"time,timestamp(millisecond)" json:"time"`
	ClassUID int32    `parquet:"class_uid" json:"class_uid"`
	N        *nested  `parquet:"n,optional" json:"n"`
	Tags     []string `parquet:"tags,list" json:"tags"`
	Flag     *bool    `parquet:"flag,optional" json:"flag"`
	Score    float64  `parquet:"score" json:"score"`
}

// TestAssemble: records assembled from columns are the records written
// (nested lists, maps, optional groups, null and empty lists), compared as
// JSON.
func TestAssemble(t *testing.T) {
	one, two := int64(1), int64(2)
	yes := true
	var recs []rec
	r := rec{Time: 1700000000123, ClassUID: 6003, Tags: []string{"a", "b"}, Flag: &yes, Score: 1.5,
		N: &nested{Items: []point{{X: &one, Y: []string{"p", "q"}}, {X: nil, Y: nil}, {X: &two, Y: []string{}}},
			Labels: map[string]string{"k1": "v1", "k2": "v2"},
			Deep:   &struct{ A *deep }{A: &deep{Lists: [][]int64{{1, 2}, {}, {3}}, Name: "d"}}}}
	r.Metadata = &struct {
		UID string `parquet:"uid" json:"uid"`
	}{"m-1"}
	recs = append(recs, r, rec{Time: 5, ClassUID: 1, Tags: []string{}}, rec{Time: 6, ClassUID: 2, N: &nested{}, Tags: []string{"z"}})
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[rec](&buf)
	if _, err := w.Write(recs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "a.parquet")
	if err != nil {
		t.Fatal(err)
	}
	rows := f.pf.RowGroups()[0].Rows()
	defer rows.Close()
	pr := make([]parquet.Row, len(recs))
	n, _ := rows.ReadRows(pr)
	if n != len(recs) {
		t.Fatalf("%d rows", n)
	}
	for i := range recs {
		got, err := f.assemble(pr[i])
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(recs[i])
		// Compare as generic JSON: key order and number forms aside.
		var g, w any
		json.Unmarshal(gj, &g)
		json.Unmarshal(wj, &w)
		if ga, wa := canon(g), canon(w); ga != wa {
			t.Errorf("record %d:\ngot  %s\nwant %s", i, ga, wa)
		}
	}
}

// canon is JSON with absent, null and empty values dropped (Parquet keeps
// an empty list and a null list apart only where the schema allows).
func canon(v any) string {
	var drop func(any) any
	drop = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, e := range x {
				if d := drop(e); d != nil {
					out[k] = d
				}
			}
			if len(out) == 0 {
				return nil
			}
			return out
		case []any:
			out := []any{}
			for _, e := range x {
				out = append(out, drop(e))
			}
			if len(out) == 0 {
				return nil
			}
			return out
		}
		return v
	}
	b, _ := json.Marshal(drop(v))
	return string(b)
}
