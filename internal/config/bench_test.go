package config

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse measures Parse on Debian's stock config (14 lines), the cost PID 1 pays.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(fixtureDir(b), "debian-default", "config"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("/etc/selinux/config", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseLibselinuxOnly measures the libselinux scanners alone, without the ini.v1
// cross-check, to show what the warnings cost.
func BenchmarkParseLibselinuxOnly(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(fixtureDir(b), "debian-default", "config"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for l := range lines(data) {
			l.mode()
			l.typeValue()
		}
	}
}
