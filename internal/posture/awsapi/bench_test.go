package awsapi

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/parapet-sec/parapet/internal/awstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}

// BenchmarkInventoryLarge: one account of 2,000 instances, 2,000 users
// and 1,000 roles on the emulator (the inventory a peer reported taking
// four hours), read whole by Inventory.
func BenchmarkInventoryLarge(b *testing.B) {
	awstest.Start(b)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ec := ec2.NewFromConfig(cfg)
	for range 4 {
		if _, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(500), MaxCount: aws.Int32(500)}); err != nil {
			b.Fatal(err)
		}
	}
	ic := iam.NewFromConfig(cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < 2000; i += 8 {
				if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("user-%04d", i))}); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("role-%04d", i/2)), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for _, conc := range []int{8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			n := 0
			for b.Loop() {
				res, _ := Inventory(ctx, Options{Concurrency: conc})
				n = 0
				for _, r := range res {
					switch r.Type {
					case "aws_instance", "aws_iam_user", "aws_iam_role":
						n++
					}
				}
			}
			if n < 5000 {
				b.Fatalf("inventory holds %d instances, users and roles, want 5,000", n)
			}
			b.ReportMetric(float64(n), "resources")
		})
	}
}
