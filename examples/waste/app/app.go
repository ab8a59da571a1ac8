// Package app is the litter-sorting example as a library: every command of
// the waste CLI is a function here, so tests and other programs can run
// them. See the README for the commands and the data layouts.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand of the CLI.
type command struct {
	name, summary string
	run           func(ctx context.Context, env *Env, args []string) error
}

// Env is where a command writes and how it reports.
type Env struct {
	Stdout, Stderr io.Writer
	// Quiet switches progress bars off (tests).
	Quiet bool
}

var commands []command

func register(name, summary string, run func(ctx context.Context, env *Env, args []string) error) {
	commands = append(commands, command{name, summary, run})
	sort.Slice(commands, func(i, j int) bool { return commands[i].name < commands[j].name })
}

// Main runs the CLI with args (without the program name) and returns the
// exit status. SIGINT and SIGTERM cancel the work; training commands then
// save a checkpoint to resume from.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &Env{Stdout: stdout, Stderr: stderr}
	if err := Run(ctx, env, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "waste:", err)
		return 1
	}
	return 0
}

// Run runs one command; no arguments (or flags only) run the demo.
func Run(ctx context.Context, env *Env, args []string) error {
	name := "demo"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		usage(env.Stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, env, args)
		}
	}
	usage(env.Stderr)
	return fmt.Errorf("unknown command %q", name)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: waste [command] [flags]   (no command: the synthetic demo)")
	fmt.Fprintln(w, "\ncommands:")
	width := 12
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nwaste <command> -h describes a command's flags.")
}

// newFlags returns a flag set whose -h prints the command's summary and
// flags to env.Stdout.
func newFlags(env *Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fs.SetOutput(env.Stdout)
		fmt.Fprintf(env.Stdout, "usage: waste %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and rejects positional arguments the command does not
// take.
func parse(fs *flag.FlagSet, args []string, positional bool) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !positional && fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (flags go before arguments; see waste %s -h)", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}

// set reports the flags given explicitly on the command line.
func set(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}
