package ingest_test

import (
	"context"
	"fmt"

	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
)

// Decode a folder laid out as CloudTrail delivers to S3: batches arrive in
// input order, whatever the number of workers.
func ExampleRun() {
	inputs, err := file.Inputs([]string{"testdata/samples/AWSLogs"}, nil)
	if err != nil {
		panic(err)
	}
	st, err := ingest.Run(context.Background(), inputs, ingest.Options{}, func(b *ingest.Batch) error {
		for _, e := range b.Events {
			fmt.Println(e.Time.Format("2006-01-02T15:04:05Z"), e.Actor.UserName, e.API.Operation, e.Class.Name())
		}
		return nil
	})
	fmt.Println(st.Events, "events,", st.BadRecords, "bad,", err)
	// Output:
	// 2014-03-06T21:22:54Z Alice StartInstances API Activity
	// 2014-03-24T21:11:59Z Alice CreateUser Account Change
	// 2016-07-14T19:15:45Z Alice UpdateTrail API Activity
	// 3 events, 0 bad, <nil>
}
