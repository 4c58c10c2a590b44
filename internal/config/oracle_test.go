package config

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// oracleInput is one config file fed both to libselinux and to Parse.
type oracleInput struct {
	name    string
	data    []byte
	missing bool // no config file at all
}

// TestOracleLibselinux runs every fixture, every quirks-table input and a seeded random
// corpus through the system's libselinux (selinux_getenforcemode, selinux_getpolicytype and
// the path accessors, driven by testdata/libselinux_oracle.c in a private mount namespace)
// and requires Parse and Layout to agree on every one. Takes about 3 s (one fork per input).
func TestOracleLibselinux(t *testing.T) {
	testutil.RequireRoot(t)
	gcc := testutil.RequireTool(t, "gcc")
	if _, err := os.Stat("/usr/include/selinux/selinux.h"); err != nil {
		if os.Getenv("NSINIT_REQUIRE_REAL") == "1" {
			t.Fatalf("libselinux1-dev not installed: %v", err)
		}
		t.Skipf("skipping: libselinux1-dev not installed (%v)", err)
	}
	dir := t.TempDir()
	oracle := filepath.Join(dir, "libselinux_oracle")
	if out, err := exec.Command(gcc, "-O1", "-Wall", "-o", oracle, "testdata/libselinux_oracle.c", "-lselinux").CombinedOutput(); err != nil {
		t.Fatalf("building the libselinux oracle: %v\n%s", err, out)
	}

	inputs := oracleInputs(t)
	args := make([]string, len(inputs))
	for i, in := range inputs {
		if in.missing {
			args[i] = "-"
			continue
		}
		args[i] = filepath.Join(dir, fmt.Sprintf("in-%04d", i))
		if err := os.WriteFile(args[i], in.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(oracle, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("libselinux oracle: %v\n%s", err, stderr.Bytes())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20) // a long SELINUXTYPE is printed in hex
	failures := 0
	for i := 0; sc.Scan(); i++ {
		if i >= len(inputs) {
			t.Fatalf("oracle printed more lines than inputs")
		}
		in := inputs[i]
		f := strings.Fields(sc.Text())
		if len(f) != 5 {
			t.Fatalf("oracle line %q", sc.Text())
		}
		var c *Config
		if in.missing {
			c, err = loadFile(filepath.Join(dir, "missing", "config"))
		} else {
			c, err = Parse("/etc/selinux/config", in.data)
		}
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		l := c.Layout("/")
		got := []string{c.Mode.String(), c.Type, l.PolicyFile(33), l.FileContexts(), l.CustomizableTypes()}
		want := []string{f[0], unhex(t, f[1]), unhex(t, f[2]) + ".33", unhex(t, f[3]), unhex(t, f[4])}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			failures++
			if failures <= 20 {
				t.Errorf("%s: input %s\n  nsinit:     %.300q\n  libselinux: %.300q", in.name, brief(in.data), got, want)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d inputs compared with libselinux, %d differ", len(inputs), failures)
}

func unhex(t *testing.T, s string) string {
	if s == "-" {
		return ""
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("oracle output %q: %v", s, err)
	}
	return string(b)
}

// oracleInputs returns the fixtures, the quirks table's inputs and a random corpus.
func oracleInputs(t *testing.T) []oracleInput {
	var ins []oracleInput
	for _, dir := range fixtures(t) {
		data, err := os.ReadFile(filepath.Join(dir, "config"))
		ins = append(ins, oracleInput{name: "fixture " + filepath.Base(dir), data: data, missing: os.IsNotExist(err)})
	}
	for _, q := range quirks() {
		ins = append(ins, oracleInput{name: "quirk " + q.name, data: []byte(q.data)})
	}
	r := rand.New(rand.NewPCG(20261125, 1))
	for i := range 1500 {
		ins = append(ins, oracleInput{name: fmt.Sprintf("random %d", i), data: randomConfig(r)})
	}
	return ins
}

// randomConfig builds a config from the pieces libselinux's two parsers are sensitive to:
// key spelling and indentation, separators, values and their prefixes, quotes, comments,
// control characters, NULs, CRLF, missing final newline, and lines that cross the fgets
// page boundary.
func randomConfig(r *rand.Rand) []byte {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	prefixes := []string{"", "", "", "", " ", "\t", "\v", "\ufeff", "#", ";", "\x00"}
	keys := []string{"SELINUX", "SELINUX", "SELINUX", "SELINUXTYPE", "SELINUXTYPE", "selinux", "selinuxtype",
		"SeLinuxType", "SELINUX ", "SELINUXTYPE ", "REQUIRESEUSERS", "SELINUXTYPO", "[main]", "SELI\x00NUX"}
	seps := []string{"=", "=", "=", "=", " =", "= ", "=\t", "=\r", "", ":"}
	values := []string{"enforcing", "permissive", "disabled", "Enforcing", "PERMISSIVE", "DiSaBlEd", "enforce",
		"permissiveXYZ", "disabledd", `"enforcing"`, "'disabled'", "enforcing # c", "enforcing#c", "", " ",
		"targeted", "default", "mls", `"default"`, "default # c", "../x", "a/b", "x\x01", "x\x7f", "\x01",
		"\x00enforcing", "perm\x00issive", "1", "0", "permiſſive", "ENFORCING\v", `default\`, "dé faut"}
	suffixes := []string{"", "", "", " ", "\t", "\r", " \r", "\f", "\x01"}
	endings := []string{"\n", "\n", "\n", "\n", "\r\n", ""}
	var b bytes.Buffer
	for n := r.IntN(8); n >= 0; n-- {
		switch r.IntN(20) {
		case 0:
			b.WriteString("\n")
		case 1:
			b.WriteString("# a comment SELINUX=disabled\n")
		case 2: // put the next key at (or near) the start of a second fgets piece
			b.WriteString("#" + strings.Repeat("x", pageSize-2-r.IntN(3)))
		}
		b.WriteString(pick(prefixes) + pick(keys) + pick(seps) + pick(values) + pick(suffixes) + pick(endings))
	}
	return b.Bytes()
}

// brief quotes an input for a failure message, eliding the middle of long ones.
func brief(data []byte) string {
	if len(data) <= 300 {
		return fmt.Sprintf("%q", data)
	}
	return fmt.Sprintf("%q ... %q (%d bytes)", data[:150], data[len(data)-150:], len(data))
}
