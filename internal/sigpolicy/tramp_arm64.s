#include "textflag.h"

// filterTramp is a C-ABI signal handler (installed by installRaw): R0 is the signal number,
// R1 the siginfo_t, R2 the ucontext. A signal a process sent (si_code <= 0) and any signal
// without a forward handler returns at once; a real fault (si_code > 0) tail-jumps into the
// Go runtime's handler with the registers and the stack the kernel gave, as if the kernel
// had called that handler itself.
TEXT filterTramp<>(SB),NOSPLIT|NOFRAME,$0-0
	CMP	$64, R0
	BHI	drop
	MOVW	8(R1), R3	// si_code, sign-extended
	CMPW	$0, R3
	BLE	drop
	MOVD	$·forward(SB), R4
	MOVD	(R4)(R0<<3), R4
	CBZ	R4, drop
	JMP	(R4)
drop:
	RET

DATA	·trampAddr+0(SB)/8, $filterTramp<>(SB)
GLOBL	·trampAddr(SB), RODATA, $8
