package policydb

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestDowngradeMatchesCompiledFixtures: the fixtures of one source are compiled by
// checkpolicy at 33, 34 and 35 from the same source, and libsepol writes those versions
// byte-identically apart from the changes Downgrade makes, so its output must equal them.
func TestDowngradeMatchesCompiledFixtures(t *testing.T) {
	tests := []struct {
		from string
		to   int
		want string
	}{
		{"rich.35", 34, "rich.34"},
		{"rich.35", 33, "rich.33"},
		{"rich.34", 33, "rich.33"},
		{"nonmls.35", 34, "nonmls.34"},
		{"nonmls.35", 33, "nonmls.33"},
		{"nonmls.34", 33, "nonmls.33"},
		// conditional xperms are fine at 34: only the neveraudit bitmap goes.
		{"condxperm.35", 34, "condxperm.34"},
	}
	for _, tt := range tests {
		t.Run(tt.from+"->"+tt.want, func(t *testing.T) {
			in := fixture(t, tt.from)
			orig := append([]byte(nil), in...)
			got, err := Downgrade(in, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, orig) {
				t.Fatal("Downgrade modified its input")
			}
			if want := fixture(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("Downgrade(%s, %d): %d bytes, differs from %s (%d bytes)", tt.from, tt.to, len(got), tt.want, len(want))
			}
		})
	}
}

func TestDowngradeRefuses(t *testing.T) {
	tests := []struct {
		file    string
		to      int
		feature string
		detail  string
	}{
		{"condxperm.34", 33, featureCondXperms, "allowxperm init_t dev_t:blk_file ioctl (driver) inside `if` on b1, b2"},
		{"condxperm.35", 33, featureCondXperms, "allowxperm init_t dev_t:blk_file"},
		{"neveraudit.35", 34, featureNeveraudit, "1 type(s) are neveraudit"},
		{"neveraudit.35", 33, featureNeveraudit, "version 33 has no way"},
		{"nlmsg.34", 33, featureNlmsg, "allowxperm init_t init_t:netlink_route_socket nlmsg"},
		{"rich.35", 32, featureOldTarget, "only rewrites versions 35, 34 and 33"},
		{"rich.33", 31, featureOldTarget, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file+"->"+tt.feature, func(t *testing.T) {
			out, err := Downgrade(fixture(t, tt.file), tt.to)
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Downgrade = %d bytes, %v; want a RefusedError", len(out), err)
			}
			h, _ := ParseHeader(fixture(t, tt.file))
			if re.From != h.Version || re.To != tt.to || re.Feature != tt.feature || !strings.Contains(re.Detail, tt.detail) {
				t.Fatalf("RefusedError = %+v, want feature %q and detail containing %q", re, tt.feature, tt.detail)
			}
			if out != nil {
				t.Fatal("refused downgrade returned an image")
			}
		})
	}
}

func TestDowngradeErrors(t *testing.T) {
	rich := fixture(t, "rich.35")
	tests := []struct {
		name string
		data []byte
		to   int
		want string
	}{
		{"same version", rich, 35, "already version 35"},
		{"upgrade", fixture(t, "rich.33"), 34, "already version 33"},
		{"not a policy", []byte("hello, world, this is not a policy file"), 33, "bad magic"},
		{"truncated", rich[:len(rich)-1], 33, "malformed policy"},
		{"trailing data", append(append([]byte(nil), rich...), 1, 2, 3, 4), 33, "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Downgrade(tt.data, tt.to)
			var re *RefusedError
			if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Downgrade = %d bytes, %v; want a non-refusal error containing %q", len(out), err, tt.want)
			}
		})
	}
}

func TestRefusedErrorMessage(t *testing.T) {
	_, err := Downgrade(fixture(t, "condxperm.34"), 33)
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatal(err)
	}
	if got, want := err.Error(), "cannot downgrade policy version 34 to 33: extended permission rules inside conditional blocks: allowxperm init_t dev_t:blk_file"; !strings.HasPrefix(got, want) {
		t.Errorf("Error() = %q, want prefix %q", got, want)
	}
	fixes := re.Fixes("/etc/selinux/default/policy/policy.34")
	for _, want := range []string{
		"checkpolicy -M -b -c 33 -o /etc/selinux/default/policy/policy.33 /etc/selinux/default/policy/policy.34",
		"`policy-version = 33` in /etc/selinux/semanage.conf, then run `semodule -B`",
		"move them out of the if blocks or remove them first",
	} {
		if !strings.Contains(fixes, want) {
			t.Errorf("Fixes() = %q, missing %q", fixes, want)
		}
	}
	na := &RefusedError{From: 35, To: 34, Feature: featureNeveraudit}
	if f := na.Fixes("policy.35"); !strings.Contains(f, "audited again") || !strings.Contains(f, "-o policy.34 policy.35") {
		t.Errorf("neveraudit Fixes() = %q", f)
	}
	old := &RefusedError{From: 33, To: 31, Feature: featureOldTarget}
	if f := old.Fixes("policy.33"); strings.Contains(f, "(") {
		t.Errorf("old-target Fixes() has a hint: %q", f)
	}
}

// FuzzDowngrade feeds mutated policy images to Downgrade and Analyze: they must never
// panic, and whatever Downgrade accepts must walk again at the target version with the
// expected size.
func FuzzDowngrade(f *testing.F) {
	for _, name := range fixtures(f) {
		f.Add(fixture(f, name), uint8(33))
	}
	f.Add(fixture(f, "rich.35"), uint8(34))
	f.Fuzz(func(t *testing.T, data []byte, to uint8) {
		in := append([]byte(nil), data...)
		out, err := Downgrade(data, int(to))
		if !bytes.Equal(in, data) {
			t.Fatal("Downgrade modified its input")
		}
		if err != nil {
			return
		}
		a, err := Analyze(out)
		if err != nil {
			t.Fatalf("downgraded image does not walk: %v", err)
		}
		h, _ := ParseHeader(data)
		shrink := 0
		if h.Version >= VersionNeveraudit {
			shrink = ebitmapHeader
		}
		if a.Header.Version != int(to) || len(out) != len(data)-shrink {
			t.Fatalf("downgrade %d->%d gave version %d, %d bytes from %d", h.Version, to, a.Header.Version, len(out), len(data))
		}
	})
}
