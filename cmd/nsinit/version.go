package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/exitcode"
)

// version and commit are set by release builds (scripts/release.sh):
//
//	go build -ldflags "-X main.version=v0.1.0 -X main.commit=0123abc..." ./cmd/nsinit
//
// When they are empty, buildVersion falls back to what the Go toolchain recorded.
var version, commit string

// buildVersion returns the version and commit of this binary: the -X values when set,
// else the module version (set by `go install module@version`) and the VCS revision that
// `go build` stamps into binaries built in a checkout ("-dirty" when the tree had
// changes), else "devel" and "unknown".
func buildVersion() (v, c string) {
	v, c = version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if c == "" {
			var rev, modified string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if rev != "" && modified == "true" {
				rev += "-dirty"
			}
			c = rev
		}
	}
	if v == "" {
		v = "devel"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}

// writeVersion prints what `nsinit version` and every command's --version print.
func writeVersion(w io.Writer, short bool) {
	v, c := buildVersion()
	if short {
		fmt.Fprintln(w, v)
		return
	}
	fmt.Fprintf(w, "nsinit %s (commit %s, %s %s/%s)\n", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func init() {
	register(&command{
		Name:     "version",
		Synopsis: "nsinit version [--short]",
		Summary:  "print nsinit's version, commit and Go toolchain",
		Help: `Print the version and the source commit this binary was built from, and the Go
toolchain and platform that built it. Release builds (scripts/release.sh) stamp the version
(git describe) and commit with -ldflags -X; other builds report the module version of
"go install" or the revision "go build" recorded from the checkout, else "devel" and
"unknown".

Examples:
  nsinit version            nsinit v0.1.0 (commit 0123abc..., go1.26.8 linux/amd64)
  nsinit version --short    v0.1.0`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			short := fs.Bool("short", false, "print the version only")
			return func(e *env, args []string) int {
				if len(args) > 0 {
					fmt.Fprintln(e.Stderr, "nsinit version: takes no arguments")
					return exitcode.Usage
				}
				writeVersion(e.Stdout, *short)
				return exitcode.OK
			}
		},
	})
}
