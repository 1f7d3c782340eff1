// Command ferretdb-wrapper runs FerretDB 1.x (the embeddable package, SQLite backend) on one
// TCP address, for tests and local development. devstack/mongo.py builds and starts it.
//
//	ferretdb-wrapper -listen 127.0.0.1:27017 -data-dir /tmp/some-dir [-log-level error] [-fsync] [-stdin-eof-stops]
//
// Why a wrapper: `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds a binary that
// panics at start, because build/version/version.txt is generated at release time and is not part of
// the module. The embeddable package github.com/FerretDB/FerretDB/ferretdb skips that file.
//
// Each database is one SQLite file in the data folder. The data is meant to be thrown away, so SQLite
// does not fsync unless -fsync is given. It stops cleanly on SIGINT or SIGTERM, and with
// -stdin-eof-stops also when its standard input closes (its parent died, even by SIGKILL).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (host:port)")
	dataDir := flag.String("data-dir", "", "existing folder for the SQLite files (required)")
	// At warn, FerretDB dumps every error response (a duplicate key, an unknown command) in full.
	logLevel := flag.String("log-level", "error", "log level: debug, info, warn or error")
	fsync := flag.Bool("fsync", false, "let SQLite fsync its files (off: faster, but a crash may lose data)")
	stdinEOFStops := flag.Bool("stdin-eof-stops", false, "stop when standard input reaches end of file")
	flag.Parse()

	if err := run(*listen, *dataDir, *logLevel, *fsync, *stdinEOFStops); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-wrapper: %s\n", err)
		os.Exit(1)
	}
}

func run(listen, dataDir, logLevel string, fsync, stdinEOFStops bool) error {
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(flag.Args(), " "))
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("-log-level %q: %s", logLevel, err)
	}

	if dataDir == "" {
		return fmt.Errorf("-data-dir is required")
	}

	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}

	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("-data-dir %q must be an existing folder", dir)
	}

	// The SQLite backend wants a "file:" URI naming a folder, with a trailing slash; FerretDB adds
	// busy_timeout, journal_mode(wal) and auto_vacuum(none) to the pragmas given here.
	uri := "file:" + strings.TrimSuffix(dir, "/") + "/"
	if !fsync {
		uri += "?_pragma=synchronous(off)"
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: uri,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if stdinEOFStops {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// Run waits for every connection to finish; a stuck one must not keep a stopped server alive.
	go func() {
		<-ctx.Done()
		time.Sleep(5 * time.Second)
		fmt.Fprintln(os.Stderr, "ferretdb-wrapper: connections still busy 5 s after the stop request; exiting")
		os.Exit(1)
	}()

	// MongoDBURI waits until the listener is bound (ferretdb.New has bound it already).
	fmt.Fprintf(os.Stderr, "ferretdb-wrapper: FerretDB (sqlite, %s) listening on %s\n", uri, f.MongoDBURI())

	return <-done
}
