package lsm

import (
	"bytes"
	"errors"
	"testing"
	"unsafe"
)

// entry builds an lsm_ctx entry with PutCtxHeader, value, and padding up to length.
func entry(id, flags, length, ctxLen uint64, value []byte) []byte {
	b := make([]byte, CtxHeaderSize, CtxHeaderSize+len(value))
	PutCtxHeader(b, CtxHeader{ID: id, Flags: flags, Len: length, CtxLen: ctxLen})
	b = append(b, value...)
	for uint64(len(b)) < length && length < 1<<16 {
		b = append(b, 0)
	}
	return b
}

func TestCtxHeaderLayout(t *testing.T) {
	if got := unsafe.Sizeof(CtxHeader{}); got != CtxHeaderSize {
		t.Fatalf("sizeof(CtxHeader) = %d, want %d (sizeof(struct lsm_ctx))", got, CtxHeaderSize)
	}
	// PutCtxHeader must produce the same bytes as the struct's memory, which is what the
	// kernel reads: id, flags, len, ctx_len as native-endian u64 at offsets 0, 8, 16, 24.
	h := CtxHeader{ID: LSM_ID_SELINUX, Flags: 0x0102030405060708, Len: 40, CtxLen: 1}
	want := unsafe.Slice((*byte)(unsafe.Pointer(&h)), unsafe.Sizeof(h))
	got := make([]byte, CtxHeaderSize)
	PutCtxHeader(got, h)
	if !bytes.Equal(got, want) {
		t.Fatalf("PutCtxHeader = % x, struct memory = % x", got, want)
	}
	for name, off := range map[string]uintptr{
		"ID": unsafe.Offsetof(h.ID), "Flags": unsafe.Offsetof(h.Flags),
		"Len": unsafe.Offsetof(h.Len), "CtxLen": unsafe.Offsetof(h.CtxLen),
	} {
		wantOff := map[string]uintptr{"ID": 0, "Flags": 8, "Len": 16, "CtxLen": 24}[name]
		if off != wantOff {
			t.Errorf("offset of %s = %d, want %d", name, off, wantOff)
		}
	}
}

func TestDecodeCtx(t *testing.T) {
	kernelUnshared := entry(LSM_ID_SELINUX, 0, 40, 1, []byte{1}) // what the kernel writes
	two := append(entry(LSM_ID_SELINUX, 0, 48, 13, []byte("unconfined_u\x00")), entry(LSM_ID_SMACK, 0, 40, 2, []byte("_\x00"))...)
	tests := []struct {
		name      string
		in        []byte
		wantID    uint64
		wantValue []byte
		wantRest  int
		wantErr   bool
	}{
		{name: "kernel unshare reply", in: kernelUnshared, wantID: LSM_ID_SELINUX, wantValue: []byte{1}},
		{name: "header only", in: entry(LSM_ID_SELINUX, 0, 32, 0, nil), wantID: LSM_ID_SELINUX, wantValue: []byte{}},
		{name: "first of two", in: two, wantID: LSM_ID_SELINUX, wantValue: []byte("unconfined_u\x00"), wantRest: 40},
		{name: "trailing bytes kept", in: append(entry(LSM_ID_SELINUX, 0, 40, 1, []byte{0}), 9, 9), wantID: LSM_ID_SELINUX, wantValue: []byte{0}, wantRest: 2},
		{name: "empty", in: nil, wantErr: true},
		{name: "short header", in: kernelUnshared[:31], wantErr: true},
		{name: "len below header", in: entry(LSM_ID_SELINUX, 0, 31, 0, nil), wantErr: true},
		{name: "len zero", in: entry(LSM_ID_SELINUX, 0, 0, 0, nil), wantErr: true},
		{name: "ctx_len beyond len", in: entry(LSM_ID_SELINUX, 0, 40, 9, []byte{1}), wantErr: true},
		{name: "ctx_len overflows", in: entry(LSM_ID_SELINUX, 0, 40, ^uint64(0)-20, []byte{1}), wantErr: true},
		{name: "len beyond buffer", in: kernelUnshared[:39], wantErr: true},
		{name: "huge len", in: entry(LSM_ID_SELINUX, 0, ^uint64(0), 1, []byte{1}), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rest, err := DecodeCtx(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformedCtx) {
					t.Fatalf("DecodeCtx = %+v, %v; want an error wrapping ErrMalformedCtx", c, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeCtx: %v", err)
			}
			if c.ID != tt.wantID || !bytes.Equal(c.Value, tt.wantValue) || len(rest) != tt.wantRest {
				t.Fatalf("DecodeCtx = id %d value %q rest %d; want id %d value %q rest %d",
					c.ID, c.Value, len(rest), tt.wantID, tt.wantValue, tt.wantRest)
			}
		})
	}
	// The second entry of two is reachable through rest.
	_, rest, _ := DecodeCtx(two)
	c, rest, err := DecodeCtx(rest)
	if err != nil || c.ID != LSM_ID_SMACK || string(c.Value) != "_\x00" || len(rest) != 0 {
		t.Fatalf("second entry = %+v rest %d err %v", c, len(rest), err)
	}
}

func TestIDName(t *testing.T) {
	for id, want := range map[uint64]string{
		LSM_ID_CAPABILITY: "capability", LSM_ID_SELINUX: "selinux", LSM_ID_APPARMOR: "apparmor",
		LSM_ID_LANDLOCK: "landlock", LSM_ID_IPE: "ipe", LSM_ID_UNDEF: "lsm-id-0", 114: "lsm-id-114",
		99: "lsm-id-99", ^uint64(0): "lsm-id-18446744073709551615",
	} {
		if got := IDName(id); got != want {
			t.Errorf("IDName(%d) = %q, want %q", id, got, want)
		}
	}
}

// FuzzDecodeCtx checks that DecodeCtx never panics, that what it accepts obeys the
// kernel's layout rules, and that re-encoding an accepted header reproduces the input.
func FuzzDecodeCtx(f *testing.F) {
	f.Add(entry(LSM_ID_SELINUX, 0, 40, 1, []byte{1}))
	f.Add(entry(LSM_ID_SELINUX, 0, 48, 13, []byte("unconfined_u\x00")))
	f.Add(entry(LSM_ID_SELINUX, 0, 31, 0, nil))
	f.Add(entry(LSM_ID_SELINUX, 0, 40, ^uint64(0), nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, rest, err := DecodeCtx(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedCtx) {
				t.Fatalf("error %v does not wrap ErrMalformedCtx", err)
			}
			return
		}
		if c.Len < CtxHeaderSize || c.Len > uint64(len(b)) || uint64(len(c.Value)) != c.CtxLen ||
			CtxHeaderSize+c.CtxLen > c.Len || uint64(len(rest)) != uint64(len(b))-c.Len {
			t.Fatalf("accepted an inconsistent entry: %+v (value %d bytes, rest %d, input %d)", c.CtxHeader, len(c.Value), len(rest), len(b))
		}
		hdr := make([]byte, CtxHeaderSize)
		PutCtxHeader(hdr, c.CtxHeader)
		if !bytes.Equal(hdr, b[:CtxHeaderSize]) || !bytes.Equal(c.Value, b[CtxHeaderSize:CtxHeaderSize+c.CtxLen]) {
			t.Fatalf("re-encoding differs from the input")
		}
	})
}
