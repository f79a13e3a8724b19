// Command gatehouse-bench measures Gatehouse on the machine it runs on and
// prints every figure beside a baseline measured in the same run.
//
// Usage:
//
//	go run ./cmd/gatehouse-bench [flags]          the benchmark suite
//	go run ./cmd/gatehouse-bench load [flags]     load against a running examples/server
//	go run ./cmd/gatehouse-bench soak [flags]     a timed soak with RSS and goroutines sampled
//	go run ./cmd/gatehouse-bench calibrate [flags] argon2id parameters for a target time
//
// Run a command with -h for its flags.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// command is one mode of the tool.
type command struct {
	summary string
	run     func(args []string) error
}

// commands holds the modes by name; each file registers its own in init.
// The one named "suite" runs when no mode is named.
var commands = map[string]command{}

func register(name, summary string, run func(args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

func main() {
	args := os.Args[1:]
	name := "suite"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "gatehouse-bench: unknown mode %q; modes:\n", name)
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
		}
		os.Exit(2)
	}
	if err := cmd.run(args); err != nil {
		fmt.Fprintf(os.Stderr, "gatehouse-bench %s: %v\n", name, err)
		os.Exit(1)
	}
}
