package testutil

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// LibselinuxOracle compiles internal/fcontext/testdata/oracle/selabel_lookup.c against
// Debian's libselinux and returns the program: it reads `PATH<TAB>OCTAL_MODE` lines on
// stdin and answers each with selabel_lookup_raw, in the format of `nsinit lookup --batch`.
func LibselinuxOracle(tb testing.TB) string {
	tb.Helper()
	return buildOracle(tb)
}

// SidLibselinuxOracle is LibselinuxOracle run with Debian sid's libselinux 3.11 (provisioning
// step sid_libselinux): the program, linked against bookworm's libselinux (same soname and
// API), behind a script that runs it through sid's loader with sid's libraries first.
func SidLibselinuxOracle(tb testing.TB) string {
	tb.Helper()
	run := filepath.Join(cached(tb, "sid-libselinux", ".done"), "bin", "ld.so-run")
	prog := buildOracle(tb)
	script := prog + "-3.11"
	body := fmt.Sprintf("#!/bin/sh\nexec %q %q \"$@\"\n", run, prog)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		tb.Fatal(err)
	}
	return script
}

// SidSetfiles returns a script running bookworm's setfiles with Debian sid's libselinux 3.11
// (provisioning step sid_libselinux): the walk, the lookups and the -v lines are
// libselinux's (selinux_restorecon), so this is setfiles as libselinux 3.11 labels.
func SidSetfiles(tb testing.TB) string {
	tb.Helper()
	run := filepath.Join(cached(tb, "sid-libselinux", ".done"), "bin", "ld.so-run")
	setfiles := RequireTool(tb, "setfiles")
	script := filepath.Join(tb.TempDir(), "setfiles-3.11")
	body := fmt.Sprintf("#!/bin/sh\nexec %q %q \"$@\"\n", run, setfiles)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		tb.Fatal(err)
	}
	return script
}

// buildOracle compiles selabel_lookup.c against the installed libselinux headers.
func buildOracle(tb testing.TB) string {
	tb.Helper()
	gcc := RequireTool(tb, "gcc")
	if _, err := os.Stat("/usr/include/selinux/label.h"); err != nil {
		missing(tb, "libselinux1-dev not installed")
	}
	out := filepath.Join(tb.TempDir(), "selabel_lookup")
	src := filepath.Join(RepoRoot(tb), "internal", "fcontext", "testdata", "oracle", "selabel_lookup.c")
	if b, err := exec.Command(gcc, "-O2", "-Wall", "-o", out, src, "-lselinux").CombinedOutput(); err != nil {
		tb.Fatalf("building the libselinux oracle: %v\n%s", err, b)
	}
	return out
}

// TreeKey is one object of a tree as setfiles -r ROOT looks it up: the path relative to
// the root with a leading "/" (the root itself is "/"), and its lstat st_mode.
type TreeKey struct {
	Path string
	Mode uint32
}

// TreeKeys returns every object below root, in lexical walk order.
func TreeKeys(tb testing.TB, root string) []TreeKey {
	tb.Helper()
	var keys []TreeKey
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		key := "/"
		if rel != "." {
			key += rel
		}
		keys = append(keys, TreeKey{key, st.Mode})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

// BatchInput formats keys as `nsinit lookup --batch` and the oracle read them.
func BatchInput(keys []TreeKey) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s\t%o\n", k.Path, k.Mode)
	}
	return b.String()
}
