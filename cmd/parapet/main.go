// Command parapet watches a cloud estate: it ingests telemetry, detects
// threats, responds and keeps posture compliant. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/parapet-sec/parapet/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.New(cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}).ExecuteContext(ctx)
	stop()
	os.Exit(cli.Exit(os.Stderr, err))
}
