package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/loadpolicy"
	"github.com/nsinit/nsinit/internal/policydb"
	"github.com/nsinit/nsinit/internal/selinuxfs"
)

func init() {
	register(&command{
		Name:     "policy",
		Synopsis: "nsinit policy inspect [--kernel-max N] [--selinuxfs DIR] FILE...",
		Summary:  "show a binary policy's version, MLS flag, handle_unknown and whether this kernel can load it",
		Help: `inspect reads binary policy files (policy.N, as built by semodule or checkpolicy) and
prints, for each: its format version, whether it is an MLS/MCS policy, its handle_unknown
rule, and whether the kernel can load it, and how:

  as is         the version is at most the kernel's maximum;
  downgraded    the policy is newer, and nsinit can rewrite it in memory at the kernel's
                version (35 → 34 → 33) because it proved nothing is lost: the neveraudit
                bitmap is empty, no conditional (if/else) block holds extended-permission
                (allowxperm) rules, no nlmsg extended permissions;
  refused       it cannot, and why, with the two standard fixes (rewrite it offline with
                checkpolicy -M -b -c N, or set policy-version = N in the image's
                semanage.conf and rerun semodule -B).

The kernel's maximum comes from --kernel-max, else from DIR/policyvers of the selinuxfs
(--selinuxfs, default /sys/fs/selinux). Without either, loadability is not judged.
Nothing is written anywhere. Exit status 0 when every file is a valid policy the kernel can
load (or, with no known kernel maximum, is valid), 1 otherwise.

Examples:
  nsinit policy inspect /etc/selinux/default/policy/policy.34
  nsinit policy inspect --kernel-max 33 /mnt/image/etc/selinux/targeted/policy/policy.*`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			var kernelMax int
			var sfs string
			fs.IntVar(&kernelMax, "kernel-max", 0, "judge loadability for a kernel accepting policy versions up to `N` (default: read policyvers)")
			fs.StringVar(&sfs, "selinuxfs", selinuxfs.DefaultDir, "`DIR` of the selinuxfs whose policyvers gives the kernel's maximum")
			return func(e *env, args []string) int {
				if len(args) == 0 || args[0] != "inspect" {
					fmt.Fprintf(e.Stderr, "nsinit policy: want `inspect FILE...` (see nsinit policy --help)\n")
					return exitcode.Usage
				}
				files := args[1:]
				if len(files) == 0 {
					fmt.Fprintf(e.Stderr, "nsinit policy inspect: no policy file given\n")
					return exitcode.Usage
				}
				kmax, source := kernelMax, "--kernel-max"
				if kmax == 0 {
					v, err := selinuxfs.Open(sfs).PolicyVers()
					if err != nil {
						kmax, source = 0, fmt.Sprintf("unknown (%v; pass --kernel-max N)", err)
					} else {
						kmax, source = v, sfs+"/policyvers"
					}
				}
				status := exitcode.OK
				for i, file := range files {
					if i > 0 {
						fmt.Fprintln(e.Stdout)
					}
					if !inspectPolicy(e.Stdout, file, kmax, source) {
						status = exitcode.Failure
					}
				}
				return status
			}
		},
	})
}

// inspectPolicy prints the report for one file and says whether it is valid and loadable
// (kmax 0: valid).
func inspectPolicy(w io.Writer, file string, kmax int, source string) bool {
	row := func(k, format string, args ...any) {
		fmt.Fprintf(w, "  %-15s %s\n", k+":", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "%s\n", file)
	img, err := loadpolicy.ReadFile(file, 0)
	var invalid *loadpolicy.InvalidError
	switch {
	case errors.As(err, &invalid):
		row("invalid", "%v", invalid.Err)
		return false
	case err != nil:
		row("error", "%v", err)
		return false
	}
	h, data := img.Header, img.Data
	row("version", "%d", h.Version)
	row("MLS", "%v", h.MLS)
	row("handle_unknown", "%s", h.HandleUnknown)
	// analyzed: the complete check of img.Data passed, in checked.
	analyzed, checked := false, time.Duration(0)
	if h.Version >= policydb.VersionCompFtrans {
		start := time.Now()
		a, err := policydb.Analyze(data)
		if err != nil {
			row("invalid", "%v", err)
			return false
		}
		row("contents", "%d types, %d attributes, %d aliases, %d booleans, %d rules, %d conditional blocks with %d rules", a.Types, a.Attributes, a.Aliases, a.Booleans, a.Rules, a.CondBlocks, a.CondRules)
		if h.Version >= policydb.VersionNeveraudit {
			row("neveraudit", "%d type(s)", a.NeverauditTypes)
		}
		analyzed, checked = true, time.Since(start)
	}
	// The admission check, on exactly the bytes the bring-up would write (loadpolicy.Load).
	// The analysis above is that check when the bytes are unchanged; a downgrade or an
	// older version needs Admit's own run.
	admit := func() bool {
		if !analyzed || img.Downgraded {
			start := time.Now()
			if err := loadpolicy.Admit(img); err != nil {
				row("admission", "refused: %v", errors.Unwrap(err))
				return false
			}
			checked = time.Since(start)
		}
		row("admission", "passed (complete structural check of the %d bytes to load, %v)", len(img.Data), checked.Round(time.Millisecond/10))
		return true
	}
	if kmax == 0 {
		row("kernel max", "%s", source)
		return admit()
	}
	row("kernel max", "%d (%s)", kmax, source)
	if h.Version <= kmax {
		row("loadable", "as is")
		return admit()
	}
	// The bring-up's own answer (loadpolicy.Fit), so that inspect and the bring-up agree.
	if err := loadpolicy.Fit(img, kmax); err != nil {
		row("loadable", "no: %v", err)
		var re *policydb.RefusedError
		if errors.As(err, &re) {
			for _, l := range strings.Split(re.Fixes(file), "\n") {
				fmt.Fprintf(w, "  %-15s %s\n", "", l)
			}
		}
		return false
	}
	row("loadable", "after nsinit downgrades it in memory to version %d (proven lossless)", kmax)
	return admit()
}
