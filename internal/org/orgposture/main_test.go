package orgposture

import (
	"os"
	"testing"

	"github.com/parapet-sec/parapet/internal/awstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}
