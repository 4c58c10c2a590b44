package lsm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformedCtx is wrapped by every error about a struct lsm_ctx buffer that breaks the
// layout rules of include/uapi/linux/lsm.h.
var ErrMalformedCtx = errors.New("malformed lsm_ctx")

// Ctx is one decoded struct lsm_ctx entry.
type Ctx struct {
	CtxHeader
	// Value is the ctx payload (CtxLen bytes). It aliases the decoded buffer.
	Value []byte
}

// PutCtxHeader writes h into the first CtxHeaderSize bytes of b in the kernel's
// (native-endian) layout. It panics if b is shorter, like encoding/binary's Put functions.
func PutCtxHeader(b []byte, h CtxHeader) {
	_ = b[CtxHeaderSize-1]
	binary.NativeEndian.PutUint64(b[0:], h.ID)
	binary.NativeEndian.PutUint64(b[8:], h.Flags)
	binary.NativeEndian.PutUint64(b[16:], h.Len)
	binary.NativeEndian.PutUint64(b[24:], h.CtxLen)
}

// DecodeCtx decodes the lsm_ctx entry at the start of b and returns it with the bytes that
// follow it (where the kernel puts the next entry when several LSMs answer). It checks what
// the kernel guarantees: the header fits, len >= sizeof(struct lsm_ctx) + ctx_len, and the
// whole entry fits in b. Errors wrap ErrMalformedCtx.
func DecodeCtx(b []byte) (Ctx, []byte, error) {
	if len(b) < CtxHeaderSize {
		return Ctx{}, nil, fmt.Errorf("%w: %d bytes, the header alone is %d", ErrMalformedCtx, len(b), CtxHeaderSize)
	}
	h := CtxHeader{
		ID:     binary.NativeEndian.Uint64(b[0:]),
		Flags:  binary.NativeEndian.Uint64(b[8:]),
		Len:    binary.NativeEndian.Uint64(b[16:]),
		CtxLen: binary.NativeEndian.Uint64(b[24:]),
	}
	// Compare without computing CtxHeaderSize+CtxLen, which could overflow.
	if h.Len < CtxHeaderSize || h.Len-CtxHeaderSize < h.CtxLen {
		return Ctx{}, nil, fmt.Errorf("%w: len %d is smaller than the header (%d) plus ctx_len %d", ErrMalformedCtx, h.Len, CtxHeaderSize, h.CtxLen)
	}
	if h.Len > uint64(len(b)) {
		return Ctx{}, nil, fmt.Errorf("%w: len %d exceeds the %d-byte buffer", ErrMalformedCtx, h.Len, len(b))
	}
	c := Ctx{CtxHeader: h, Value: b[CtxHeaderSize : CtxHeaderSize+h.CtxLen]}
	return c, b[h.Len:], nil
}
