package relabel

import "structs"

// XattrArgs is the value argument of getxattrat(2) and setxattrat(2) (Linux 6.13).
//
// Matches Linux include/uapi/linux/xattr.h:
//
//	struct xattr_args {
//		__aligned_u64 value;
//		__u32 size;
//		__u32 flags;
//	};
type XattrArgs struct {
	_ structs.HostLayout

	Value uint64
	Size  uint32
	Flags uint32
}

// LinuxDirent64 is the fixed part of a getdents64(2) record; the NUL-terminated name
// follows it, and Reclen covers the whole record with its padding.
//
// Matches Linux include/linux/dirent.h:
//
//	struct linux_dirent64 {
//		u64 d_ino;
//		s64 d_off;
//		unsigned short d_reclen;
//		unsigned char d_type;
//		char d_name[];
//	};
type LinuxDirent64 struct {
	_ structs.HostLayout

	Ino    uint64
	Off    int64
	Reclen uint16
	Type   uint8
}

// direntNameOffset is offsetof(struct linux_dirent64, d_name): the name starts right after
// d_type, before the struct's tail padding.
const direntNameOffset = 19
