// Package s3list turns S3 prefixes named on a command line
// (s3://bucket/prefix) into inputs: every object under the prefix, in key
// order (under the AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
// layout, time order per region), read when the input is opened. A bucket
// in another account (a central log-archive account) is read through a
// role there (Access).
package s3list

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/org"
)

// Permissions are the calls Inputs makes, as IAM actions (s3:ListBucket
// allows ListObjectsV2): the policy of the role given in Access.
var Permissions = []string{"s3:GetObject", "s3:ListBucket"}

// Is says whether a path names an S3 prefix.
func Is(path string) bool { return strings.HasPrefix(path, "s3://") }

// Access is how the buckets are read: the default AWS configuration's
// own credentials, or a role assumed with them.
type Access struct {
	RoleARN    string // "": the default credentials
	ExternalID string
	Session    string // the role session's name (org.SessionName); default parapet
}

// Client is an S3 client from the default AWS configuration, path-style
// when AWS_ENDPOINT_URL points it at an emulator or a gateway.
func Client(ctx context.Context) (*s3.Client, error) { return ClientAs(ctx, Access{}) }

// ClientAs is Client reading as a.RoleARN: the role is assumed at once
// (an error names it) and again before its credentials expire.
func ClientAs(ctx context.Context, a Access) (*s3.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	if a.ExternalID != "" && a.RoleARN == "" {
		return nil, errors.New("an ExternalId without a role to assume")
	}
	if a.RoleARN != "" {
		if a.Session == "" {
			a.Session = "parapet"
		}
		as := &org.Assumer{Base: cfg, Role: a.RoleARN, ExternalID: a.ExternalID}
		cfg = as.Config("", "", org.SessionName(a.Session))
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			return nil, fmt.Errorf("cannot assume role %s: %w", a.RoleARN, err)
		}
	}
	custom := os.Getenv("AWS_ENDPOINT_URL") != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = custom
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// Inputs lists the objects under url (s3://bucket/prefix). Objects whose
// last key segment starts with "." are passed over, as hidden files in a
// folder are. ctx bounds the listing and every later read.
func Inputs(ctx context.Context, client *s3.Client, url string) ([]ingest.Input, error) {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
	if !Is(url) || bucket == "" {
		return nil, fmt.Errorf("%q: want s3://bucket/prefix", url)
	}
	var out []ingest.Input
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", url, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			base := key[strings.LastIndexByte(key, '/')+1:]
			if base == "" || strings.HasPrefix(base, ".") {
				continue
			}
			out = append(out, ingest.Input{
				Name: "s3://" + bucket + "/" + key,
				Size: aws.ToInt64(o.Size),
				Open: func() (io.ReadCloser, error) {
					obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
					if err != nil {
						return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
					}
					return obj.Body, nil
				},
			})
		}
	}
	return out, nil
}
