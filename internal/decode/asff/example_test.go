package asff_test

import (
	"fmt"

	"github.com/parapet-sec/parapet/internal/decode/asff"
	"github.com/parapet-sec/parapet/internal/event"
)

func ExampleDecode() {
	rec := []byte(`{"SchemaVersion":"2018-10-08","Id":"ids-1","ProductArn":"arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default",
"ProductName":"Example IDS","GeneratorId":"tor-credential-use","AwsAccountId":"111122223333","Region":"us-east-1",
"Types":["TTPs/Credential Access"],"CreatedAt":"2026-11-20T14:01:10Z","UpdatedAt":"2026-11-20T14:01:10Z",
"Severity":{"Label":"CRITICAL"},"Title":"Instance credentials used from a Tor exit node",
"Resources":[{"Type":"AwsS3Bucket","Id":"arn:aws:s3:::example-logs"}]}`)
	var ev event.Event
	if err := asff.Decode(rec, &ev); err != nil {
		fmt.Println(err)
		return
	}
	tactics, _ := asff.Tactics(ev.Finding.Types)
	fmt.Println(ev.Finding.Title, ev.Finding.Level, ev.Cloud.Account, ev.Resources[0].Type, tactics)
	// Output: Instance credentials used from a Tor exit node critical 111122223333 AWS::S3::Bucket [credential-access]
}
