package cloudformation

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzLoad(f *testing.F) {
	f.Add([]byte("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub '${AWS::Region}-x'\n      AccessControl: !If [C, PublicRead, Private]\n"))
	f.Add([]byte(`{"Resources":{"S":{"Type":"AWS::EC2::SecurityGroup","Properties":{"SecurityGroupIngress":[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"CidrIp":{"Ref":"P"}}]}}},"Parameters":{"P":{"Default":"0.0.0.0/0"}}}`))
	f.Add([]byte("Resources:\n  A: !GetAtt A.Arn\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "t.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = Load(p, dir)
	})
}
