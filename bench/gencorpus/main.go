// Command gencorpus writes a benchmark corpus of CloudTrail log files as S3
// delivers them ({"Records":[…]}, gzip) under the S3 key layout. Records
// vary where real ones do (ids, keys, addresses, times, principals,
// operations), so gzip compresses them as it does real CloudTrail.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

const template = `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA%[1]s:%[2]s","arn":"arn:aws:sts::111122223333:assumed-role/%[3]s/%[2]s","accountId":"111122223333","accessKeyId":"ASIA%[4]s","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA%[1]s","arn":"arn:aws:iam::111122223333:role/%[3]s","accountId":"111122223333","userName":"%[3]s"},"attributes":{"creationDate":"%[5]s","mfaAuthenticated":"false"}}},"eventTime":"%[5]s","eventSource":"%[6]s.amazonaws.com","eventName":"%[7]s","awsRegion":"%[8]s","sourceIPAddress":"%[9]s","userAgent":"%[10]s","requestParameters":{"bucketName":"acme-%[11]s","Host":"acme-%[11]s.s3.%[8]s.amazonaws.com","key":"data/%[12]s/part-%[13]d.parquet"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"%[14]s","bytesTransferredOut":%[15]d},"requestID":"%[16]s","eventID":"%[17]s","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::acme-%[11]s/data/%[12]s/part-%[13]d.parquet"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::acme-%[11]s"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"acme-%[11]s.s3.%[8]s.amazonaws.com"}}`

var (
	roles   = []string{"app-lambda", "ec2-app", "ci-deploy", "etl-glue", "analytics", "backup"}
	ops     = [][2]string{{"s3", "GetObject"}, {"s3", "PutObject"}, {"s3", "HeadObject"}, {"s3", "ListObjects"}, {"s3", "GetObjectTagging"}}
	regions = []string{"us-east-1", "eu-west-1", "us-west-2"}
	agents  = []string{
		"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2",
		"Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.84",
		"[aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1016 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe]",
	}
	buckets = []string{"datalake", "customer-data", "app-artifacts", "invoices", "web-assets", "logs-archive"}
)

func main() {
	dir := flag.String("dir", "corpus", "output folder")
	size := flag.Int64("size", 1<<30, "uncompressed bytes to write")
	perFile := flag.Int("records", 2000, "records per file")
	seed := flag.Uint64("seed", 1, "random seed")
	ordered := flag.Bool("ordered", false, "event times increase through the files (five minutes each) as in a trail's S3 layout, with up to a minute of disorder inside a file; default: random times of one day")
	flag.Parse()
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(*seed, 7))
	const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	rs := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = b32[rng.IntN(32)]
		}
		return string(b)
	}
	hex := func(n int) string {
		const h = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = h[rng.IntN(16)]
		}
		return string(b)
	}
	var written, records int64
	for f := 0; written < *size; f++ {
		region := regions[f%len(regions)]
		window := start.Add(time.Duration(f) * 5 * time.Minute)
		when := func(i int) string {
			if !*ordered {
				return fmt.Sprintf("2026-11-02T%02d:%02d:%02dZ", rng.IntN(24), rng.IntN(60), rng.IntN(60))
			}
			t := window.Add(time.Duration(i) * 5 * time.Minute / time.Duration(*perFile)).Add(time.Duration(rng.IntN(60)) * time.Second)
			return t.Format(time.RFC3339)
		}
		var body bytes.Buffer
		body.WriteString(`{"Records":[`)
		for i := 0; i < *perFile && written+int64(body.Len()) < *size; i++ {
			if i > 0 {
				body.WriteByte(',')
			}
			role := roles[rng.IntN(len(roles))]
			op := ops[rng.IntN(len(ops))]
			fmt.Fprintf(&body, template,
				rs(17), role+"-"+hex(8), role, rs(16),
				when(i),
				op[0], op[1], region,
				fmt.Sprintf("%d.%d.%d.%d", 3+rng.IntN(50), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254)),
				agents[rng.IntN(len(agents))], buckets[rng.IntN(len(buckets))], hex(12), rng.IntN(100000),
				rs(56)+"=", rng.IntN(50_000_000), rs(16), hex(8)+"-"+hex(4)+"-4"+hex(3)+"-a"+hex(3)+"-"+hex(12))
			records++
		}
		body.WriteString("]}")
		written += int64(body.Len())
		path := filepath.Join(*dir, "AWSLogs", "111122223333", "CloudTrail", region, "2026", "11", "02",
			fmt.Sprintf("111122223333_CloudTrail_%s_20261102T%04dZ_%s.json.gz", region, f%2400, rs(16)))
		if *ordered {
			end := window.Add(6 * time.Minute)
			path = filepath.Join(*dir, "AWSLogs", "111122223333", "CloudTrail", region, end.Format("2006/01/02"),
				fmt.Sprintf("111122223333_CloudTrail_%s_%s_%s.json.gz", region, end.Format("20060102T1504Z"), rs(16)))
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			log.Fatal(err)
		}
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
		w.Write(body.Bytes())
		if err := w.Close(); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%d records, %d uncompressed bytes (%d per record) in %s\n", records, written, written/max(records, 1), *dir)
}
