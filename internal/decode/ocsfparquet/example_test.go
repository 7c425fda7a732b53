package ocsfparquet_test

import (
	"bytes"
	"fmt"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet/ocsftest"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// A Security Lake CloudTrail file read back: each record is the CloudTrail
// record it was made from, as Parapet's rules read it.
func Example() {
	data, err := ocsftest.Encode(ocsftest.CloudTrail()[:2], 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := ocsfparquet.Open(bytes.NewReader(data), int64(len(data)), "CLOUD_TRAIL_MGMT/example.parquet")
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = f.Each(func(ev *event.Event) error {
		fmt.Println(ev.Time.Format("15:04:05"), ev.Source.Service(), ev.Actor.AccessKeyID, ev.API.Operation,
			jsonscan.GetString(ev.Raw.Data, "requestParameters.policyArn"))
		return nil
	}, func(e *decode.Error) { fmt.Println(e) })
	// Output:
	// 09:30:00 cloudtrail AKIAEXAMPLEALICE0001 AttachUserPolicy arn:aws:iam::aws:policy/AdministratorAccess
	// 09:31:00 cloudtrail AKIAEXAMPLEALICE0001 AttachUserPolicy arn:aws:iam::aws:policy/ReadOnlyAccess
}
