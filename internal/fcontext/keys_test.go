package fcontext

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeysHandleAnswersAsFull: a handle loaded for a few keys answers those keys exactly
// as the full handle does, in every mode, for patterns that end their literal prefix in
// every way (a quantifier, an escape, a group, a top-level alternation, an alias), and
// holds fewer specs.
func TestKeysHandleAnswersAsFull(t *testing.T) {
	dir := t.TempDir()
	fc := filepath.Join(dir, "file_contexts")
	spec := strings.Join([]string{
		"/.*	u:object_r:default_t:s0",
		"/usr(/.*)?	u:object_r:usr_t:s0",
		"/usr/bin(/.*)?	u:object_r:bin_t:s0",
		"/usr/binx?	u:object_r:maybe_t:s0",
		`/usr/bi\n	u:object_r:escaped_t:s0`,
		`/usr\.local	u:object_r:dot_t:s0`,
		"/usr/sbin/init	--	u:object_r:init_exec_t:s0",
		"/opt|/usr/lib	u:object_r:alt_t:s0", // no stem ("|" before the second "/")
		"/usr/li[b]	-d	u:object_r:class_t:s0",
		"/var/lib(/.*)?	u:object_r:var_lib_t:s0",
		"/srv/data	u:object_r:srv_t:s0",
		"/home/[^/]+	-d	u:object_r:home_t:s0",
	}, "\n") + "\n"
	if err := os.WriteFile(fc, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fc+".subs_dist", []byte("/sbin /usr/sbin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	full, err := Load(fc)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"/", "/usr", "/usr/bin", "/usr/lib", "/sbin/init", "/usr/bin/", "//usr//bin", "/usr.local"}
	h, err := LoadOptions(fc, Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		for _, m := range allModes {
			want, wok := full.Lookup(k, m)
			got, gok := h.Lookup(k, m)
			if got != want || gok != wok {
				t.Errorf("Lookup(%q, %o) = %q %v, want %q %v (the full handle)", k, m, got, gok, want, wok)
			}
		}
	}
	if h.Len() >= full.Len() || h.Len() == 0 {
		t.Errorf("the keys' handle holds %d specs of %d: want fewer, not none", h.Len(), full.Len())
	}
}

// TestKeysHandleDebian is the same on Debian's file_contexts (text and .bin) with the
// bring-up's probes and every key of the minbase tree as its own one-key handle's key.
func TestKeysHandleDebian(t *testing.T) {
	for _, bin := range []bool{false, true} {
		fc := policyCopy(t, bin)
		full, err := Load(fc)
		if err != nil {
			t.Fatal(err)
		}
		probes := []string{"/", "/etc", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/bin", "/sbin", "/lib", "/var", "/sbin/init"}
		h, err := LoadOptions(fc, Options{Keys: probes})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range probes {
			for _, m := range allModes {
				want, wok := full.Lookup(k, m)
				if got, gok := h.Lookup(k, m); got != want || gok != wok {
					t.Errorf("bin=%v: Lookup(%q, %o) = %q %v, want %q %v", bin, k, m, got, gok, want, wok)
				}
			}
		}
		t.Logf("bin=%v: %d of %d specs for the probes", bin, h.Len(), full.Len())
		// Every spec-derived key (specKeys) through a one-key handle of its own.
		keys := specKeys(full)
		step := len(keys)/400 + 1
		for i := 0; i < len(keys); i += step {
			k := keys[i]
			one, err := LoadOptions(fc, Options{Keys: []string{k.path}})
			if err != nil {
				t.Fatal(err)
			}
			want, wok := full.Lookup(k.path, k.mode)
			if got, gok := one.Lookup(k.path, k.mode); got != want || gok != wok {
				t.Errorf("bin=%v: one-key Lookup(%q, %o) = %q %v, want %q %v", bin, k.path, k.mode, got, gok, want, wok)
			}
		}
	}
}

// BenchmarkLoadKeys is BenchmarkLoad for a handle of the bring-up's eleven probes
// (--relabel=auto's check): the specs that cannot match them are parsed, not kept.
func BenchmarkLoadKeys(b *testing.B) {
	probes := []string{"/", "/etc", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/bin", "/sbin", "/lib", "/var", "/sbin/init"}
	benchmarkLoad(b, Options{Keys: probes})
}
