package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/policydb/policytest"
)

// policyFixture is a binary policy from internal/policydb's testdata (built by checkpolicy).
func policyFixture(name string) string {
	return filepath.Join("..", "..", "internal", "policydb", "testdata", name)
}

func TestPolicyInspect(t *testing.T) {
	fakeSfs := t.TempDir()
	if err := os.WriteFile(filepath.Join(fakeSfs, "policyvers"), []byte("34\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		want   []string
	}{
		{"as is", []string{"inspect", "--kernel-max", "35", policyFixture("rich.35")},
			exitcode.OK, []string{"version:        35", "MLS:            true", "handle_unknown: deny", "neveraudit:     0 type(s)", "loadable:       as is"}},
		{"flags before the verb", []string{"--kernel-max", "33", "inspect", policyFixture("rich.35"), policyFixture("nonmls.34")},
			exitcode.OK, []string{"MLS:            false", "after nsinit downgrades it in memory to version 33"}},
		{"kernel max from selinuxfs", []string{"inspect", "--selinuxfs", fakeSfs, policyFixture("neveraudit.35")},
			exitcode.Failure, []string{"kernel max:     34 (" + fakeSfs + "/policyvers)", "neveraudit rules: 1 type(s)", "checkpolicy -M -b -c 34", "audited again"}},
		{"conditional xperms", []string{"inspect", "--kernel-max", "33", policyFixture("condxperm.34")},
			exitcode.Failure, []string{"extended permission rules inside conditional blocks: allowxperm init_t dev_t:blk_file", "`policy-version = 33`", "semodule -B"}},
		{"unknown kernel", []string{"inspect", "--selinuxfs", t.TempDir(), policyFixture("rich.34")},
			exitcode.OK, []string{"kernel max:     unknown", "pass --kernel-max N"}},
		{"not a policy", []string{"inspect", "--kernel-max", "33", "policy_test.go"},
			exitcode.Failure, []string{"invalid:        bad magic"}},
		{"admitted", []string{"inspect", "--kernel-max", "33", policyFixture("rich.33")},
			exitcode.OK, []string{"admission:      passed (complete structural check of the 3246 bytes"}},
		{"admission refuses an old version", []string{"inspect", "--kernel-max", "33", oldPolicy(t)},
			exitcode.Failure, []string{"loadable:       as is", "admission:      refused: refused before the load: malformed policy at byte 16 (header): version 31", "checkpolicy -M -b -c 33"}},
		{"missing", []string{"inspect", "--kernel-max", "33", "no-such-policy.33"},
			exitcode.Failure, []string{"error:", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			e := plainEnv(nil, &out, &errb, func(string) string { return "" })
			args := append([]string{"policy"}, tt.args...)
			if got := dispatch(e, args); got != tt.status {
				t.Errorf("status %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tt.status, out.String(), errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestPolicyUsage(t *testing.T) {
	for _, args := range [][]string{{"policy"}, {"policy", "show"}, {"policy", "inspect"}} {
		var out, errb bytes.Buffer
		if got := dispatch(plainEnv(nil, &out, &errb, os.Getenv), args); got != exitcode.Usage {
			t.Errorf("%q: status %d, want %d", args, got, exitcode.Usage)
		}
	}
}

// oldPolicy writes a policy image of version 31 (a valid header nsinit does not check
// further, so does not load).
func oldPolicy(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "policy.31")
	if err := os.WriteFile(f, policytest.Image(31), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
