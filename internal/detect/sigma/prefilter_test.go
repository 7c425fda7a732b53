package sigma

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/event"
)

const mayRules = `title: denied
id: 00000000-0000-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        errorCode: [AccessDenied, UnauthorizedOperation]
    condition: selection
---
title: console read
id: 00000000-0000-4000-8000-000000000002
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        sessionCredentialFromConsole: 'true'
        readOnly: true
    succeeded:
        errorCode: null
    condition: selection and succeeded
---
title: root not service
id: 00000000-0000-4000-8000-000000000003
logsource: {product: aws, service: cloudtrail}
detection:
    root:
        userIdentity.type: Root
    service:
        eventType: AwsServiceEvent
    condition: root and not service
---
title: failed public acl
id: 00000000-0000-4000-8000-000000000004
logsource: {product: aws, service: cloudtrail}
detection:
    acl:
        eventName: PutBucketAcl
        requestParameters.x-amz-acl|re: '^public-'
    ok:
        errorCode: null
    condition: acl and not ok
---
title: own key
id: 00000000-0000-4000-8000-000000000005
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: CreateAccessKey
        requestParameters.userName|fieldref: userIdentity.userName
    condition: selection
---
title: keyword
id: 00000000-0000-4000-8000-000000000006
logsource: {product: aws, service: cloudtrail}
detection:
    words:
        - 'i-0123456789abcdef0'
    region:
        awsRegion|all: [eu-*, '*-1']
    condition: words and region
`

// TestMayMatch: MayMatch is true of every event Match finds a rule in,
// whatever fields it is told are known (the event itself holds their
// values), and, told every field is known, says what Match says but for
// rules testing keywords or field references.
func TestMayMatch(t *testing.T) {
	rules, errs := Parse([]byte(mayRules), "may.yml", Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	set := NewSet(rules)
	m := set.Matcher()
	fields := []string{"eventName", "eventSource", "errorCode", "userIdentity.type", "awsRegion", "sessionCredentialFromConsole",
		"readOnly", "eventType", "requestParameters.x-amz-acl", "requestParameters.userName", "userIdentity.userName"}
	n, maybes := 0, 0
	for _, op := range []string{"GetObject", "PutBucketAcl", "CreateAccessKey"} {
		for _, typ := range []string{"IAMUser", "Root"} {
			for _, extra := range []string{``, `,"errorCode":"AccessDenied"`, `,"errorCode":null`, `,"sessionCredentialFromConsole":"true","readOnly":true`,
				`,"eventType":"AwsServiceEvent"`, `,"requestParameters":{"x-amz-acl":"public-read","userName":"bob"},"errorCode":"Denied"`,
				`,"requestParameters":{"userName":"bob"}`, `,"awsRegion":"eu-west-1","note":"i-0123456789abcdef0"`} {
				rec := fmt.Sprintf(`{"eventTime":"2026-11-02T10:00:00Z","eventName":%q,"eventSource":"s3.amazonaws.com","userIdentity":{"type":%q,"userName":"bob"}%s}`, op, typ, extra)
				var ev event.Event
				if err := cloudtrail.Decode([]byte(rec), &ev); err != nil {
					t.Fatalf("%s: %v", rec, err)
				}
				matched := false
				m.Match(&ev, func(*Rule) { matched = true })
				// a field reference (own key) and keywords (with the
				// region that passes) stay unknown
				exact := op != "CreateAccessKey" && !strings.Contains(extra, "awsRegion")
				for mask := range 1 << len(fields) {
					if mask%7 != 0 && mask != 1<<len(fields)-1 {
						continue // a sample of the subsets
					}
					known := func(f string) bool {
						for i, k := range fields {
							if k == f {
								return mask&(1<<i) != 0
							}
						}
						return false
					}
					n++
					may := m.MayMatch(&ev, known)
					if matched && !may {
						t.Errorf("%s: matched, but MayMatch knowing %b says no rule can", rec, mask)
					}
					if mask == 1<<len(fields)-1 && exact && may != matched {
						t.Errorf("%s: every field known: MayMatch %v, Match %v", rec, may, matched)
					}
					if may && !matched {
						maybes++
					}
				}
			}
		}
	}
	if maybes == 0 || maybes == n {
		t.Errorf("%d of %d verdicts maybe on events no rule matches: want some, not all", maybes, n)
	}
}
