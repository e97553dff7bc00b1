// Command notifymux checks object-storage notification configurations,
// tells which function an event triggers, and delivers it.
//
// Usage:
//
//	notifymux check [-bucket NAME] [-region R] [-profile cos|none] FILE...
//	notifymux match -rules FILE [-bucket NAME] [-explain] [EVENT-JSON...]
//	notifymux run [-rules FILE] [-bucket NAME] [-in FILE|-] [-to -|URL|TARGETS.json] [-format cos|s3|cloudevents] [flags]
//	notifymux event -bucket B -key K -event E [-size N] [-format cos|s3|cloudevents] [-rules FILE] [flags]
//	notifymux redrive -file DEAD.jsonl [-to -|URL|TARGETS.json] [flags] | -nats URL [-target T] [flags]
//	notifymux help [COMMAND]
//
// Exit status: 0 when all is well, 1 when a command found problems (check;
// event -rules without a match) or could not deliver everything (run), 2 for
// bad usage or unreadable input.
//
// # Adding a command
//
// Each command lives in a file of its own that registers it from init:
//
//	func init() {
//		register(&command{
//			name:    "frob",
//			usage:   "[-n N] FILE...",
//			summary: "frob the rules of each FILE",
//			run:     runFrob,
//		})
//	}
//
//	func runFrob(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
//		fs := newFlagSet("frob")
//		n := fs.Int("n", 1, "how many times")
//		if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
//			return code // -h printed help (0), or a bad flag was reported (2)
//		}
//		…
//	}
//
// run passes the command its arguments after the command name. A command
// writes results on stdout and errors on stderr prefixed "notifymux frob: ",
// returns exitOK, exitFindings or exitUsage, honours ctx (cancelled on
// interrupt), and never calls os.Exit. `notifymux help frob` runs it with
// -h, so its help is the flag set's, preceded by the usage and summary.
// Shared helpers: readEvents (event lines and Records payloads, events.go),
// loadRules and loadIndex (configuration files, rules.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// Exit statuses.
const (
	exitOK       = 0 // all is well
	exitFindings = 1 // the command found problems in its input
	exitUsage    = 2 // bad usage, or input that could not be read
)

// command is one subcommand.
type command struct {
	name    string // as typed: "check"
	usage   string // the arguments after the name: "[-bucket NAME] FILE..."
	summary string // one line for `notifymux help`
	help    string // optional paragraphs for `notifymux help NAME`, each line ending in "\n"
	// run runs the command with the arguments after its name.
	run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands holds the registered commands by name.
var commands = map[string]*command{}

// register adds c; it is called from the init function of c's file.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("notifymux: command " + c.name + " registered twice")
	}
	commands[c.name] = c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args (without the program name) and returns the
// exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printCommands(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			printCommands(stdout)
			return exitOK
		}
		c, ok := commands[rest[0]]
		if !ok || len(rest) > 1 {
			fmt.Fprintf(stderr, "notifymux help: unknown command %q; run 'notifymux help'\n", strings.Join(rest, " "))
			return exitUsage
		}
		return c.run(ctx, []string{"-h"}, stdin, stdout, stderr)
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "notifymux: unknown command %q; run 'notifymux help'\n", name)
		return exitUsage
	}
	return c.run(ctx, rest, stdin, stdout, stderr)
}

// printCommands writes the list of commands.
func printCommands(w io.Writer) {
	fmt.Fprint(w, "notifymux checks object-storage notification rules, tells which function an event triggers, and delivers it.\n\nUsage:\n\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "\tnotifymux %s %s\n", n, commands[n].usage)
	}
	fmt.Fprint(w, "\nCommands:\n\n")
	for _, n := range names {
		fmt.Fprintf(w, "\t%-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "\nRun 'notifymux help COMMAND' for a command's flags. Exit status: 0 ok, 1 problems found, 2 bad usage or unreadable input.\n")
}

// newFlagSet returns an empty flag set for the command called name.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {} // parseFlags prints help itself
	return fs
}

// parseFlags parses args into fs. With -h it prints the command's help on
// stdout and returns (exitOK, false); on a bad flag it reports it on stderr
// and returns (exitUsage, false); otherwise (0, true).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	c := commands[fs.Name()]
	fs.SetOutput(stderr)
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(stdout, "usage: notifymux %s %s\n\n%s.\n", c.name, c.usage, upperFirst(c.summary))
		if c.help != "" {
			fmt.Fprintf(stdout, "\n%s", c.help)
		}
		fmt.Fprintln(stdout, "\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return exitOK, false
	}
	// flag has printed the error.
	fmt.Fprintf(stderr, "usage: notifymux %s %s\nRun 'notifymux help %s' for details.\n", c.name, c.usage, c.name)
	return exitUsage, false
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// usageError reports a usage problem of command name on stderr and returns exitUsage.
func usageError(stderr io.Writer, name, format string, args ...any) int {
	c := commands[name]
	fmt.Fprintf(stderr, "notifymux %s: %s\nusage: notifymux %s %s\n", name, fmt.Sprintf(format, args...), c.name, c.usage)
	return exitUsage
}
