// Package awstest gives tests a real AWS API emulator: moto_server on a
// free loopback port (internal/emulator), with the AWS SDK pointed at it.
// Without moto_server the test is skipped with the reason, except under
// CI=true, where a missing emulator fails the test.
package awstest

import (
	"os"
	"sync"
	"testing"

	"github.com/parapet-sec/parapet/internal/emulator"
)

var (
	shared     *emulator.Moto
	sharedErr  error
	sharedOnce sync.Once
)

// Start returns the package's emulator (started on first use and left
// running for the package's tests; Stop it from TestMain), reset to
// empty, and points the AWS SDK at it for the test.
func Start(t testing.TB) *emulator.Moto {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = emulator.Start() })
	if sharedErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the AWS API emulator is required in CI: %v", sharedErr)
		}
		t.Skipf("no AWS API emulator: %v", sharedErr)
	}
	if err := shared.Reset(); err != nil {
		t.Fatal(err)
	}
	for k, v := range shared.Env() {
		t.Setenv(k, v)
	}
	return shared
}

// Stop ends the package's emulator, if one was started.
func Stop() {
	if shared != nil {
		shared.Stop()
	}
}
