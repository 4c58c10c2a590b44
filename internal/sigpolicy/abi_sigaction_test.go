//go:build amd64 || arm64

package sigpolicy

import (
	"testing"
	"unsafe"
)

// TestSigactionLayout: offsets and size of struct sigaction on x86-64 and arm64.
func TestSigactionLayout(t *testing.T) {
	var a sigaction
	for _, tt := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof", unsafe.Sizeof(a), 32},
		{"sa_handler", unsafe.Offsetof(a.handler), 0},
		{"sa_flags", unsafe.Offsetof(a.flags), 8},
		{"sa_restorer", unsafe.Offsetof(a.restorer), 16},
		{"sa_mask", unsafe.Offsetof(a.mask), 24},
		{"sigset_t", unsafe.Sizeof(a.mask), sigsetBytes},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}
