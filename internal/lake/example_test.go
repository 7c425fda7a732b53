package lake_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

// A writer fed the same event twice, as a redelivery would, writes it
// once; Flush makes it durable (acknowledge input after it returns).
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "lake")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	w, err := lake.Open(ctx, lake.Options{Path: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := event.Event{ID: "e-1", Time: time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC), Source: event.SourceCloudTrail,
		Class: event.ClassAPIActivity, Cloud: event.Cloud{Provider: "aws", Account: "111122223333", Region: "eu-west-1"},
		API: event.API{Service: "s3.amazonaws.com", Operation: "GetObject"}}
	for range 2 {
		if err := w.Write(ctx, []event.Event{ev}); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Flush(ctx); err != nil {
		fmt.Println(err)
		return
	}
	files, _ := w.Files(ctx, lake.Filter{})
	fmt.Println(files[0].Partition.Prefix())
	fmt.Printf("%+v\n", w.Stats().Written)
	// Output:
	// ext/api_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/
	// 1
}
