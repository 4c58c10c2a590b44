package relabel

import (
	"testing"
	"unsafe"
)

// TestABILayout: offsets and sizes of the kernel structs, as the headers define them.
func TestABILayout(t *testing.T) {
	var x XattrArgs
	var d LinuxDirent64
	for _, tt := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(struct xattr_args)", unsafe.Sizeof(x), 16},
		{"xattr_args.value", unsafe.Offsetof(x.Value), 0},
		{"xattr_args.size", unsafe.Offsetof(x.Size), 8},
		{"xattr_args.flags", unsafe.Offsetof(x.Flags), 12},
		{"linux_dirent64.d_ino", unsafe.Offsetof(d.Ino), 0},
		{"linux_dirent64.d_off", unsafe.Offsetof(d.Off), 8},
		{"linux_dirent64.d_reclen", unsafe.Offsetof(d.Reclen), 16},
		{"linux_dirent64.d_type", unsafe.Offsetof(d.Type), 18},
		{"linux_dirent64.d_name", unsafe.Offsetof(d.Type) + unsafe.Sizeof(d.Type), direntNameOffset},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}
