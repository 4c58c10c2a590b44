package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/testutil"
)

// runWithEnv dispatches args with the given environment variables and returns the exit
// status, stdout and stderr.
func runWithEnv(args []string, vars map[string]string) (int, string, string) {
	var out, errs bytes.Buffer
	e := plainEnv(nil, &out, &errs, func(k string) string { return vars[k] })
	code := dispatch(e, args)
	return code, out.String(), errs.String()
}

// TestManPage checks that nsinit(8) lists what the command table defines: every synopsis,
// every flag of every command and every exit status.
func TestManPage(t *testing.T) {
	code, page, errs := runWithEnv([]string{"man"}, map[string]string{"SOURCE_DATE_EPOCH": "1764000000"})
	if code != exitcode.OK {
		t.Fatalf("nsinit man: status %d: %s", code, errs)
	}
	if !strings.HasPrefix(page, `.TH NSINIT 8 "2025\-11\-24" "nsinit `) {
		t.Errorf("page header: %q", strings.SplitN(page, "\n", 2)[0])
	}
	for _, c := range sortedCommands() {
		for _, l := range strings.Split(strings.TrimSpace(c.Synopsis), "\n") {
			if want := ".B " + esc(strings.TrimSpace(l)); !strings.Contains(page, want+"\n") {
				t.Errorf("synopsis of %q missing: %q", c.Name, want)
			}
		}
		if c.Name != bringUp && !strings.Contains(page, ".SS "+esc("nsinit "+c.Name)+"\n") {
			t.Errorf("no section for command %q", c.Name)
		}
		fs := newFlagSet(c.Name)
		c.Setup(fs)
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			if want := `.TP` + "\n" + `\fB\-\-` + esc(f.Name) + `\fR`; !strings.Contains(page, want) {
				t.Errorf("flag --%s of %q missing", f.Name, c.Name)
			}
		})
	}
	for _, c := range exitcode.Codes {
		if want := fmt.Sprintf(".TP\n.B %d\n%s\n", c.Status, esc(c.Meaning)); !strings.Contains(page, want) {
			t.Errorf("exit status %d missing", c.Status)
		}
	}
	if _, again, _ := runWithEnv([]string{"man"}, map[string]string{"SOURCE_DATE_EPOCH": "1764000000"}); again != page {
		t.Error("two renderings differ")
	}

	// The page must be valid for troff: no warnings at the strictest level.
	groff := testutil.RequireTool(t, "groff")
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff -ww: %v\n%s", err, out)
	}
}

func TestManUsage(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		epoch string
		want  int
		err   string
	}{
		{[]string{"man", "extra"}, "", exitcode.Usage, "takes no arguments"},
		{[]string{"man"}, "yesterday", exitcode.Usage, "SOURCE_DATE_EPOCH"},
		{[]string{"man", "--bogus"}, "", exitcode.Usage, "-bogus"},
	} {
		code, _, errs := runWithEnv(tc.args, map[string]string{"SOURCE_DATE_EPOCH": tc.epoch})
		if code != tc.want || !strings.Contains(errs, tc.err) {
			t.Errorf("%v: status %d, stderr %q; want %d and %q", tc.args, code, errs, tc.want, tc.err)
		}
	}
	code, page, _ := runWithEnv([]string{"man"}, nil)
	if code != exitcode.OK || !strings.HasPrefix(page, `.TH NSINIT 8 "" `) {
		t.Errorf("without SOURCE_DATE_EPOCH: status %d, header %q", code, strings.SplitN(page, "\n", 2)[0])
	}
}

// TestEsc checks the roff escaping of the characters that would change the rendering.
func TestEsc(t *testing.T) {
	for in, want := range map[string]string{
		"--mode":        `\-\-mode`,
		`a\b`:           `a\eb`,
		"≥ 3×":          `\[u2265] 3\[u00D7]`,
		".PP injection": `\&.PP injection`,
		"'quote":        `\&'quote`,
	} {
		if got := escLine(in); got != want {
			t.Errorf("escLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHelpExitCodes checks that --help lists the exit statuses from the same table.
func TestHelpExitCodes(t *testing.T) {
	code, out, _ := runWithEnv([]string{"--help"}, nil)
	if code != exitcode.OK {
		t.Fatalf("--help: status %d", code)
	}
	for _, c := range exitcode.Codes {
		if want := fmt.Sprintf("  %d  %s\n", c.Status, c.Meaning); !strings.Contains(out, want) {
			t.Errorf("--help lacks exit status %d", c.Status)
		}
	}
}

func TestVersion(t *testing.T) {
	// Without -X values the build information decides; a test binary has no VCS stamp.
	code, out, _ := runWithEnv([]string{"version"}, nil)
	if code != exitcode.OK || !strings.HasPrefix(out, "nsinit ") || !strings.Contains(out, "(commit ") {
		t.Errorf("version: status %d, %q", code, out)
	}
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.2.3", "0123abcd"
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"version"}, "nsinit v1.2.3 (commit 0123abcd, go", exitcode.OK},
		{[]string{"version", "--short"}, "v1.2.3\n", exitcode.OK},
		{[]string{"version", "extra"}, "", exitcode.Usage},
	} {
		code, out, _ := runWithEnv(tc.args, nil)
		if code != tc.code || !strings.HasPrefix(out, tc.want) {
			t.Errorf("%v: status %d, %q; want %d, %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}

// TestManPageCommitted keeps docs/nsinit.8 in step with the command table (`make man`).
func TestManPageCommitted(t *testing.T) {
	var b bytes.Buffer
	e := plainEnv(nil, &b, io.Discard, func(string) string { return "" })
	if code := dispatch(e, []string{"man"}); code != exitcode.OK {
		t.Fatalf("nsinit man: status %d", code)
	}
	committed, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "docs", "nsinit.8"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, b.Bytes()) {
		t.Fatal("docs/nsinit.8 is stale: run `make man` and commit it")
	}
}
