// Command parapet watches a cloud estate: it ingests telemetry, detects
// threats, responds and keeps posture compliant. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/parapet-sec/parapet/internal/cli"
)

func main() {
	// Parapet's live heap is small and its garbage plentiful (a batch of
	// events per chunk): collecting half as often buys about 10% on the
	// detect path for some 25 MB more peak memory. GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	// PARAPET_CPUPROFILE=FILE writes a CPU profile of the run, for
	// `go tool pprof`.
	if path := os.Getenv("PARAPET_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer f.Close()
				defer pprof.StopCPUProfile()
			}
		}
	}
	code := run()
	pprof.StopCPUProfile()
	// PARAPET_MEMPROFILE=FILE writes a heap profile (what is still held)
	// at the end of the run.
	if path := os.Getenv("PARAPET_MEMPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			runtime.GC()
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.New(cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}).ExecuteContext(ctx)
	stop()
	return cli.Exit(os.Stderr, err)
}
