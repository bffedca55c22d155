// Command pairux-cascade-bridge carries a PairUX host's screen from the session's origin LiveKit room
// into a room on another region's deployment, as the host there, without decoding it: RTP
// packets are passed on as received (so an end-to-end encrypted screen crosses without its key),
// one origin subscription per simulcast layer, far viewers' key-frame requests passed back.
//
// The control plane starts one per (session, region) and supervises it (server/cascade/bridge-worker.ts): the
// configuration is one JSON line on stdin (config.go); events are JSON lines on stdout
// (report.go). It exits when stdin closes (its supervisor is gone), on SIGTERM, or when a room
// drops it (exit 3): its supervisor starts a new one with fresh tokens.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	exitConfig  = 2
	exitStopped = 3
)

func main() {
	report := &Reporter{out: os.Stdout}
	in := bufio.NewReaderSize(os.Stdin, maxConfigBytes)
	cfg, err := readConfig(in)
	if err != nil {
		report.fatal(err.Error())
		os.Exit(exitConfig)
	}
	b := newBridge(cfg, report)
	go func() {
		_, _ = io.Copy(io.Discard, in)
		b.stop("stdin closed: the supervisor is gone")
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() { b.stop(fmt.Sprintf("%v", <-signals)) }()
	if err := b.start(); err != nil {
		report.fatal(err.Error())
		b.close()
		os.Exit(exitStopped)
	}
	ticker := time.NewTicker(time.Duration(cfg.StatsIntervalMs) * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case reason := <-b.done:
			b.close()
			if reason == "stdin closed: the supervisor is gone" || reason == "terminated" || reason == "interrupt" {
				report.log("info", "stopping: "+reason)
				return
			}
			report.fatal(reason)
			os.Exit(exitStopped)
		case <-ticker.C:
			report.emit("stats", b.stats())
		}
	}
}
