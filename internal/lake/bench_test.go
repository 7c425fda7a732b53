package lake

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	kzstd "github.com/klauspost/compress/zstd"

	"github.com/parapet-sec/parapet/internal/event"
)

// benchEvents are CloudTrail-like calls with what varies in real trails
// varying: ids, request ids, times, keys, addresses, bucket names, object
// keys; a native record of about 1.1 KB each.
func benchEvents(n int) []event.Event {
	rng := rand.New(rand.NewPCG(1, 2))
	ops := []string{"GetObject", "PutObject", "ListBuckets", "AssumeRole", "DescribeInstances", "GetCallerIdentity", "Decrypt"}
	svcs := []string{"s3.amazonaws.com", "s3.amazonaws.com", "s3.amazonaws.com", "sts.amazonaws.com", "ec2.amazonaws.com", "sts.amazonaws.com", "kms.amazonaws.com"}
	accounts := []string{"111122223333", "444455556666", "777788889999"}
	evs := make([]event.Event, n)
	at := t0
	for i := range evs {
		at = at.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		o := rng.IntN(len(ops))
		acct := accounts[rng.IntN(len(accounts))]
		id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&(1<<48-1))
		key := fmt.Sprintf("ASIA%016X", rng.Uint64()%(1<<40))
		role := fmt.Sprintf("app-%d", rng.IntN(40))
		session := fmt.Sprintf("i-%017x", rng.Uint64()%(1<<60))
		ip := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		bucket := fmt.Sprintf("data-%s-%d", acct, rng.IntN(12))
		obj := fmt.Sprintf("reports/%d/%02d/%08x.parquet", 2026, rng.IntN(12)+1, rng.Uint32())
		reqID := fmt.Sprintf("%016X", rng.Uint64())
		raw := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE%s:%s","arn":"arn:aws:sts::%s:assumed-role/%s/%s","accountId":"%s","accessKeyId":"%s","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE%s","arn":"arn:aws:iam::%s:role/%s","accountId":"%s","userName":"%s"},"attributes":{"creationDate":"%s","mfaAuthenticated":"false"},"ec2RoleDelivery":"2.0"}},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2","requestParameters":{"bucketName":"%s","Host":"%s.s3.eu-west-1.amazonaws.com","key":"%s","x-id":"%s"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"%x","bytesTransferredOut":%d},"requestID":"%s","eventID":"%s","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::%s/%s"},{"accountId":"%s","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::%s"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"%s","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.s3.eu-west-1.amazonaws.com"}}`,
			role, session, acct, role, session, acct, key, role, acct, role, acct, role, at.Add(-time.Hour).Format(time.RFC3339), at.Format(time.RFC3339), svcs[o], ops[o], ip, bucket, bucket, obj, ops[o], rng.Uint64(), rng.IntN(1<<20), reqID, id, bucket, obj, acct, bucket, acct, bucket)
		evs[i] = event.Event{
			ID: id, Time: at, Source: event.SourceCloudTrail, Class: event.ClassAPIActivity, Activity: 2, Type: "AwsApiCall",
			Cloud: event.Cloud{Provider: "aws", Partition: "aws", Account: acct, Region: "eu-west-1"},
			Actor: event.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + session,
				PrincipalID: "AROAEXAMPLE" + role + ":" + session, AccessKeyID: key, SessionName: session, UserName: role,
				SessionIssuerARN: "arn:aws:iam::" + acct + ":role/" + role, SessionIssuerType: "Role", Account: acct, MFA: event.False},
			Src:     event.Endpoint{IP: ip, UserAgent: "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2"},
			API:     event.API{Service: svcs[o], Operation: ops[o], RequestID: reqID, ReadOnly: true},
			Outcome: event.OutcomeSuccess,
			Resources: []event.Resource{{Type: "AWS::S3::Object", UID: "arn:aws:s3:::" + bucket + "/" + obj},
				{Type: "AWS::S3::Bucket", UID: "arn:aws:s3:::" + bucket, Name: bucket, Account: acct}},
			Raw: event.Raw{Format: event.RawJSON, Data: []byte(raw)},
		}
	}
	return evs
}

// gzipBytes is the size of the events' native records as CloudTrail
// delivers them: {"Records":[…]} gzipped, in files of 2,000 records.
func gzipBytes(evs []event.Event) int64 {
	var total int64
	for i := 0; i < len(evs); i += 2000 {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(`{"Records":[`))
		for j := i; j < min(i+2000, len(evs)); j++ {
			if j > i {
				zw.Write([]byte(","))
			}
			zw.Write(evs[j].Raw.Data)
		}
		zw.Write([]byte("]}"))
		zw.Close()
		total += int64(buf.Len())
	}
	return total
}

// benchCorpora are the records the write benchmarks run on: "unique",
// benchEvents (every call its own key, session, address and object: the
// worst case for the promoted columns), and "trail", benchTrail (calls
// in sessions, services' calls among them, as an account's trail holds
// them).
func benchCorpora(b *testing.B, n int) []struct {
	name string
	evs  []event.Event
} {
	return []struct {
		name string
		evs  []event.Event
	}{{"records=unique", benchEvents(n)}, {"records=trail", benchTrail(b, n)}}
}

// BenchmarkLakeWrite: events converted to rows (OCSF JSON included; on
// every core, as Write does), deduplicated, sorted, encoded and
// zstd-compressed into files in a local folder.
func BenchmarkLakeWrite(b *testing.B) {
	ctx := context.Background()
	for _, c := range benchCorpora(b, 50_000) {
		b.Run(c.name, func(b *testing.B) {
			evs := c.evs
			var size, events int64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				w := openTest(b, b.TempDir(), Options{RollSize: 256 << 20, RollAge: time.Hour})
				b.StartTimer()
				if err := w.Write(ctx, evs); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				size += w.Stats().Bytes
				events += int64(len(evs))
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(size)/float64(events), "bytes/event")
			b.ReportMetric(float64(gzipBytes(evs))/float64(len(evs)), "gz-bytes/event")
		})
	}
}

// BenchmarkLakeConvert is the conversion alone: events to rows, OCSF JSON
// included, on one goroutine.
func BenchmarkLakeConvert(b *testing.B) {
	for _, c := range benchCorpora(b, 10_000) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewRows(c.evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(c.evs))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkLakeEncode is the rest: rows already made, deduplicated,
// sorted, encoded, compressed and written.
func BenchmarkLakeEncode(b *testing.B) {
	ctx := context.Background()
	for _, c := range benchCorpora(b, 50_000) {
		b.Run(c.name, func(b *testing.B) {
			rows, err := NewRows(c.evs)
			if err != nil {
				b.Fatal(err)
			}
			var events int64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				w := openTest(b, b.TempDir(), Options{RollSize: 256 << 20, RollAge: time.Hour})
				b.StartTimer()
				if err := w.WriteRows(ctx, rows); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				events += int64(len(rows))
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkLakeZstdRaw is the floor under a write: the native records
// alone, zstd-compressed at the writer's level in 1 MiB blocks (its page
// size), on one goroutine.
func BenchmarkLakeZstdRaw(b *testing.B) {
	for _, c := range benchCorpora(b, 50_000) {
		b.Run(c.name, func(b *testing.B) {
			var all []byte
			for i := range c.evs {
				all = append(all, c.evs[i].Raw.Data...)
			}
			enc, err := kzstd.NewWriter(nil, kzstd.WithEncoderLevel(kzstd.SpeedFastest), kzstd.WithEncoderConcurrency(1))
			if err != nil {
				b.Fatal(err)
			}
			var out []byte
			var size int64
			for b.Loop() {
				size = 0
				for off := 0; off < len(all); off += 1 << 20 {
					out = enc.EncodeAll(all[off:min(off+1<<20, len(all))], out[:0])
					size += int64(len(out))
				}
			}
			b.ReportMetric(float64(b.N*len(c.evs))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(size)/float64(len(c.evs)), "bytes/event")
		})
	}
}
