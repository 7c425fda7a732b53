package azure_test

import (
	"fmt"

	"github.com/parapet-sec/parapet/internal/decode/azure"
	"github.com/parapet-sec/parapet/internal/event"
)

// A Microsoft Sentinel row whose Properties column is a JSON string
// decodes to the diagnostic schema: rules read properties.requestbody and
// resultType, or the row's own column names.
func ExampleDecode() {
	row := []byte(`{"TimeGenerated":"2026-11-21T08:15:30Z","OperationNameValue":"MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE",` +
		`"ActivityStatusValue":"Success","Caller":"mallory@contoso.com","CallerIpAddress":"203.0.113.45",` +
		`"ResourceId":"/subscriptions/6a2c1b7e-0f3d-4c2a-9b8e-1d2f3a4b5c6d/resourceGroups/prod-rg/providers/Microsoft.Storage/storageAccounts/acmedata",` +
		`"Properties":"{\"requestbody\":\"{\\\"properties\\\":{\\\"allowBlobPublicAccess\\\":true}}\"}","Type":"AzureActivity"}`)
	var ev event.Event
	if err := azure.Decode(row, &ev); err != nil {
		fmt.Println(err)
		return
	}
	body, _ := ev.Lookup("properties.requestbody")
	status, _ := ev.Lookup("ActivityStatusValue")
	fmt.Println(ev.API.Operation, ev.Actor.UserName, ev.Cloud.Account)
	fmt.Println(body.String(), status.String())
	// Output:
	// MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE mallory@contoso.com 6a2c1b7e-0f3d-4c2a-9b8e-1d2f3a4b5c6d
	// {"properties":{"allowBlobPublicAccess":true}} Success
}
