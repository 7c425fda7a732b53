package cloudformation

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// TestGeneric: a type mapped by content/resources is mapped with each
// attribute's origin (its property's line, else the resource's), a
// parameter without default unknown, and joins by Ref applied.
func TestGeneric(t *testing.T) {
	src := `AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Key:
    Type: String
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders
      KmsMasterKeyId: !Ref Key
  P:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Q]
      PolicyDocument:
        Statement:
          - {Effect: Allow, Principal: "*", Action: "sqs:*", Resource: "*"}
  L:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      LoadBalancerAttributes:
        - {Key: deletion_protection.enabled, Value: "true"}
`
	path := filepath.Join(t.TempDir(), "t.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*resource.Resource{}
	for _, r := range res {
		by[r.Type] = r
	}
	q, lb := by["aws_sqs_queue"], by["aws_lb"]
	if q == nil || lb == nil || q.Name != "orders" {
		t.Fatalf("Load() = %v, want the queue orders and a load balancer", by)
	}
	tests := []struct {
		name string
		r    *resource.Resource
		attr string
		want any
		line int
	}{
		{"parameter without default", q, "kms_key", true, 10},
		{"joined policy", q, "policy_public", true, 15},
		{"key/value list", lb, "deletion_protection", true, 21},
		{"absent key", lb, "access_logs", false, 21},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Attrs[tc.attr]; got != tc.want {
				t.Errorf("%s = %v, want %v", tc.attr, got, tc.want)
			}
			if got := tc.r.Origins[tc.attr].StartLine; got != tc.line {
				t.Errorf("origin of %s = line %d, want %d", tc.attr, got, tc.line)
			}
		})
	}
}
