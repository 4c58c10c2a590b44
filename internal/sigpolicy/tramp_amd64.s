#include "textflag.h"

// filterTramp is a C-ABI signal handler (installed by installRaw): DI is the signal number,
// SI the siginfo_t, DX the ucontext. A signal a process sent (si_code <= 0) and any signal
// without a forward handler returns at once; a real fault (si_code > 0) tail-jumps into the
// Go runtime's handler with the registers and the stack the kernel gave, as if the kernel
// had called that handler itself.
TEXT filterTramp<>(SB),NOSPLIT|NOFRAME,$0-0
	CMPQ	DI, $64
	JHI	drop
	MOVL	8(SI), AX	// si_code
	CMPL	AX, $0
	JLE	drop
	LEAQ	·forward(SB), CX
	MOVQ	(CX)(DI*8), AX
	TESTQ	AX, AX
	JZ	drop
	JMP	AX
drop:
	RET

DATA	·trampAddr+0(SB)/8, $filterTramp<>(SB)
GLOBL	·trampAddr(SB), RODATA, $8
