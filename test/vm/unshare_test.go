package vm

import (
	"fmt"
	"strings"
	"testing"
)

// unshareConsole is a console on which every unshare case printed lines and exited code.
func unshareConsole(code int, lines ...string) string {
	var b strings.Builder
	for _, p := range unsharePhases {
		for _, w := range unshareWants {
			name := p.name + "-" + w.name
			for _, l := range append(append([]string{}, lines...), w.out...) {
				fmt.Fprintf(&b, "%s%s out: %s\n", containerPrefix, name, l)
			}
			state := p.state + ",dev:x,null:y,fresh:unmounted,selinuxfs:mounted"
			fmt.Fprintf(&b, "%s%s exit=%d before=%s after=%s\n", containerPrefix, name, code, state, state)
		}
	}
	return b.String()
}

// TestExpectUnshare checks the check: the errno must be the one the booted kernel calls
// for, so the same scenario passes on 6.1 (ENOSYS) and on 7.x (EOPNOTSUPP).
func TestExpectUnshare(t *testing.T) {
	steps := []string{"unshare the mount namespace done", "make the mount tree recursively private done"}
	enosys := append(steps, `step "unshare the SELinux namespace" failed: lsm_set_self_attr(LSM_ATTR_UNSHARE): ENOSYS: the kernel has no LSM syscalls: Linux older than 6.8`)
	eopnotsupp := append(steps, `step "unshare the SELinux namespace" failed: lsm_set_self_attr(LSM_ATTR_UNSHARE): EOPNOTSUPP: `+
		"this kernel has no SELinux namespaces: it needs the SELinux namespace patches with CONFIG_SECURITY_SELINUX_NS=y, not in upstream Linux as of 7.3")
	k6, k7 := Kernel{Name: Linux6}, Kernel{Name: Linux7, LSMSyscalls: true}
	powered := func(k Kernel, console string) *Result {
		return &Result{Kernel: k, Console: console, Marker: &Marker{}, PoweredOff: true}
	}
	for _, tt := range []struct {
		name    string
		r       *Result
		wantErr string
	}{
		{"6.1 ENOSYS", powered(k6, unshareConsole(1, enosys...)), ""},
		{"7.2 EOPNOTSUPP", powered(k7, unshareConsole(1, eopnotsupp...)), ""},
		{"7.2 ENOSYS", powered(k7, unshareConsole(1, enosys...)), "lacks"},
		{"6.1 EOPNOTSUPP", powered(k6, unshareConsole(1, eopnotsupp...)), "lacks"},
		{"wrong exit", powered(k6, unshareConsole(5, enosys...)), "exit 5, want 1"},
		{"program ran", powered(k6, unshareConsole(1, append(enosys, "TESTINIT: container-child pid=1")...)), "the program ran"},
		{"no kernel", &Result{}, "names no kernel"},
		{"state changed", powered(k6, strings.Replace(unshareConsole(1, enosys...),
			"after=policy:none,enforce:0,init:kernel,dev:x,null:y,fresh:unmounted,selinuxfs:mounted",
			"after=policy:none,enforce:0,init:kernel,dev:x,null:y,fresh:unmounted,selinuxfs:unmounted", 1)), "state changed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := expectUnshare(tt.r)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("expectUnshare: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("expectUnshare = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
