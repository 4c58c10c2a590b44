package main

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/procattr"
	"github.com/nsinit/nsinit/internal/selinuxfs"
	"github.com/nsinit/nsinit/internal/unshare"
)

// unshareFlag is the bring-up's entrypoint flag (nsinit --unshare): unshare first, then
// run the bring-up in the new SELinux namespace.
const unshareFlag = "unshare"

func init() {
	register(&command{
		Name: "unshare",
		Synopsis: "nsinit unshare [--no-private-mounts] [--] CMD [ARGS...]\n" +
			"       nsinit unshare --boot [bring-up flags] [-- INIT [ARGS...]]",
		Summary: "run CMD (or, with --boot, the bring-up and the init) in a new SELinux namespace",
		Help: `Give the process its own SELinux namespace, without policy, and exec CMD in it: the
host side of an SELinux namespace container, what libselinux's unshareselinux does, with
no libselinux. The steps, each logged: unshare(CLONE_NEWNS); make / recursively private
(MS_REC|MS_PRIVATE; --no-private-mounts skips it); lsm_set_self_attr(LSM_ATTR_UNSHARE)
with a bare struct lsm_ctx {id=LSM_ID_SELINUX}; unmount the inherited /sys/fs/selinux,
which shows the parent namespace (a failure there is a warning); exec. The SELinux unshare
changes only the calling thread, so all of it runs on one locked OS thread and the exec
comes from that thread. The environment passes through unchanged: SELINUXNS is not set,
because the new namespace's programs can ask the kernel (lsm_get_self_attr).

CMD is looked up in PATH before anything changes. When a step fails nsinit names it, the
errno and what it means (ENOSYS: no LSM syscalls, Linux < 6.8; EOPNOTSUPP: the kernel has
no SELinux namespaces, CONFIG_SECURITY_SELINUX_NS, not in upstream Linux as of 7.3;
EACCES/EPERM: the host policy must allow process2 { unshare_selinuxns } to the caller's
domain, or seccomp blocks the call) and exits 1; nothing outside the process and its own
new mount namespace was changed.

With --boot nsinit runs its own bring-up in the new namespace, then the init: one command
that starts a system container with its own SELinux namespace. It takes every flag of
"nsinit boot", and re-executes itself from the unsharing thread as "nsinit boot FLAGS
-- INIT", so that every thread of the bring-up (relabel workers, the supervisor) has the
new namespace; detection then finds the namespace from the kernel's own answer. It needs
CAP_SYS_ADMIN in the initial user namespace (to mount the fresh selinuxfs) and always makes
/ private, so that no mount of the bring-up reaches the host.

Examples:
  nsinit unshare -- /bin/sh                                a shell in a new namespace
  nsinit unshare --boot --mode permissive -- /sbin/init   a system container's bring-up`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			boot := fs.Bool("boot", false, "run nsinit's bring-up in the new namespace (then the init), with the bring-up's flags")
			noPrivate := fs.Bool("no-private-mounts", false, "do not make / recursively private in the new mount namespace (not with --boot)")
			bfs := newFlagSet("nsinit " + bringUp)
			commands[bringUp].Setup(bfs)
			fs.AddFlagSet(bfs)
			return func(e *env, args []string) int {
				c := commands["unshare"]
				before, after := splitAtDash(fs)
				if *boot {
					if *noPrivate {
						return usageError(e, c, "--no-private-mounts cannot be used with --boot: the bring-up's mounts would reach the parent mount namespace")
					}
					if len(before) > 0 {
						return usageError(e, c, fmt.Sprintf("unexpected %q: name the init after -- (nsinit unshare --boot -- /sbin/init)", before[0]))
					}
					return unshareBringUp(e, c, bfs, after)
				}
				var other []string
				bfs.VisitAll(func(f *pflag.Flag) {
					if f.Changed && f.Name != "log-format" && f.Name != "log-level" {
						other = append(other, "--"+f.Name)
					}
				})
				if len(other) > 0 {
					return usageError(e, c, strings.Join(other, ", ")+" only applies with --boot")
				}
				if len(args) == 0 {
					return usageError(e, c, "no command given: nsinit unshare [--] CMD [ARGS...]")
				}
				path, err := exec.LookPath(args[0])
				if err != nil {
					fmt.Fprintf(e.Stderr, "nsinit unshare: error: %v; nothing was changed\n", err)
					return exitcode.ExecFailed
				}
				return runUnshare(e, c, bfs, unshare.ExecOnly, "/proc", unshare.Options{
					Path: path, Argv: args, NoPrivateMounts: *noPrivate,
				}, quoteArgs(args))
			}
		},
	})
}

// unshareBringUp unshares, then re-executes nsinit as the bring-up (nsinit boot) with the
// bring-up flags set on fs and the init command: the way in of `nsinit unshare --boot`
// and of the entrypoint's --unshare. The re-exec, not a bring-up in this process, because
// only the unsharing thread has the new namespace: threads the Go runtime starts later,
// the relabel workers and the supervisor's spawner would act in the parent's.
func unshareBringUp(e *env, c *command, fs *pflag.FlagSet, command []string) int {
	if e.machine() {
		return usageError(e, c, "--unshare is for a container's PID 1; the machine's PID 1 already has the initial SELinux namespace to itself")
	}
	if fs.Changed(resumeFlag) {
		// Refused before anything changes; a fresh namespace has no bring-up to resume.
		return usageError(e, c, "--"+resumeFlag+" is nsinit's own, for its re-exec into the init's domain; it is never typed")
	}
	self, err := e.Executable()
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: error: cannot find nsinit's own executable to run the bring-up: %v; nothing was changed\n", flagSetName(c), err)
		return exitcode.ExecFailed
	}
	argv := append([]string{self, bringUp}, forwardFlags(fs)...)
	if command != nil {
		argv = append(append(argv, "--"), command...)
	}
	procDir := fs.Lookup("proc").Value.String()
	what := "the bring-up, then the default init"
	if len(command) > 0 {
		what = "the bring-up, then " + quoteArgs(command)
	}
	return runUnshare(e, c, fs, unshare.BringUp, procDir, unshare.Options{Path: self, Argv: argv}, what)
}

// forwardFlags returns the flags set on the bring-up flag set fs as --name=value words,
// without --unshare: the bring-up nsinit re-executes itself into must not unshare again.
func forwardFlags(fs *pflag.FlagSet) []string {
	var words []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed && f.Name != unshareFlag && f.Name != versionFlag {
			words = append(words, "--"+f.Name+"="+f.Value.String())
		}
	})
	return words
}

// runUnshare checks what the unshare needs and runs it (env.Unshare); it returns only on
// failure, with the step, errno and meaning printed.
func runUnshare(e *env, c *command, fs *pflag.FlagSet, needs unshare.Needs, procDir string, o unshare.Options, what string) int {
	log, err := newLogger(e, &logFlags{format: fs.Lookup("log-format").Value.String(), level: fs.Lookup("log-level").Value.String()})
	if err != nil {
		return usageError(e, c, err.Error())
	}
	o.Env = e.Environ()
	o.MountRoot, o.SelinuxfsDir = "/", selinuxfs.DefaultDir
	o.Domain = callerDomain(procDir)
	o.Log = log.Named("unshare")
	err = e.Unshare(needs, procDir, o)
	fmt.Fprintf(e.Stderr, "%s: error: no new SELinux namespace for %s: %v\n", flagSetName(c), what, err)
	fmt.Fprintf(e.Stderr, "%s: NOT started: %s; nothing outside this process and its own new mount namespace was changed\n", flagSetName(c), what)
	return exitcode.Failure
}

// realUnshare is env.Unshare of the running process: Preflight, then the sequence.
func realUnshare(needs unshare.Needs, procDir string, o unshare.Options) error {
	if err := unshare.Preflight(procDir, needs); err != nil {
		return err
	}
	return unshare.Run(unshare.RealSys{}, o)
}

// callerDomain returns the SELinux type of the calling thread ("unconfined_t"), for the
// policy rule a denial asks for; "" when it cannot be read or no policy is loaded.
func callerDomain(procDir string) string {
	ctx, err := procattr.CurrentIn(procDir)
	if err != nil {
		return ""
	}
	parts := strings.Split(ctx, ":")
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}
