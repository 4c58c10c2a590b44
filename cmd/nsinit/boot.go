package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/boot"
	"github.com/nsinit/nsinit/internal/logging"
	"github.com/nsinit/nsinit/internal/selinuxfs"
	"github.com/nsinit/nsinit/internal/sigpolicy"
	"github.com/nsinit/nsinit/internal/supervise"
)

// bringUpFlags are the flags and operands of the bring-up.
type bringUpFlags struct {
	opts boot.Options
	// words are the operands before "--" (the kernel's words, at the machine's PID 1 only),
	// command those after it (the init or application and its arguments).
	words, command []string
	supervise      bool
	unshare        bool
	sup            supervise.Options
	log            logFlags
	// cpuProfile is --cpuprofile: where the bring-up's CPU profile goes.
	cpuProfile string
}

func init() {
	register(&command{
		Name:     bringUp,
		Synopsis: "nsinit boot [flags] [-- INIT [ARGS...]]\n       nsinit [flags] [-- INIT [ARGS...]]          (as PID 1)",
		Summary:  "bring SELinux up and exec the real init (what a bare nsinit does as PID 1)",
		Help: `Run as PID 1 of a container that has its own, freshly unshared SELinux namespace, or
as the machine's first process (initramfs style). nsinit detects whether the SELinux
namespace is its own and still without a policy, reads <root>/etc/selinux/config with
libselinux's rules, mounts a fresh selinuxfs, loads the newest policy.N the kernel accepts,
relabels where needed, sets the mode, and execs the init in its policy domain.

As PID 1 (a container's entrypoint, the machine's init) a bare nsinit runs the bring-up;
anywhere else it must be asked for with "nsinit boot", and a command line without a known
command is a usage error: a typo never starts an init. Flags may come anywhere before --.

The init is the program after -- (a name without a slash is looked up in PATH below the
root, else in /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; a program named
there that is missing is an error, never a reason to run another init), else init= from the
kernel command line (at boot only), else the first of /sbin/init, /lib/systemd/systemd,
/usr/lib/systemd/systemd. Only as the machine's PID 1, words before -- that are not
nsinit's flags (the kernel hands words such as "single" or "-b" to PID 1 this way) are
passed to that init, and a first word that is an absolute path is the init (the kernel
drops the -- of init=/usr/sbin/nsinit -- /lib/systemd/systemd); anywhere else they are a
usage error. argv, environment and file descriptors pass through.

Mode precedence: --mode, then NSINIT_MODE, then enforcing= on the kernel command line (at
boot only: inside a container /proc/cmdline is the host's), then SELINUX= in the config,
else permissive (as libselinux).

Fail closed: when the mode is enforcing and any step fails, the init is never executed.
nsinit prints "nsinit: emergency: ..." naming what failed and what to do, then exits 4 in a
container, or freezes as the machine's PID 1 (exiting would panic the kernel). In permissive
mode failures are warnings and the init runs.

Supervisor mode (--supervise): for images whose entrypoint is an application rather than
an init, nsinit brings SELinux up, then stays PID 1, starts the application as its child,
relays signals, reaps zombies and exits with the application's status (docs/supervise.md).

Signals: SIGTERM, SIGINT, SIGPWR and SIGRTMIN+3 abort the bring-up (exit 6; as the machine's
PID 1 nsinit freezes); every other signal is caught and discarded. With --supervise, SIGTERM,
SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGPWR and SIGRTMIN+1 to SIGRTMAX are
relayed to the application, SIGCHLD reaps, the rest are discarded. No signal, however sent,
can crash nsinit, and the init or application starts with every signal at its default
(docs/supervise.md, "Signals").

Examples:
  nsinit -- /lib/systemd/systemd --log-level=debug     container entrypoint before systemd
  nsinit --supervise --grace 10s -- myapp               application container (PATH lookup)
  nsinit --mode permissive                              as PID 1: permissive, default init
  nsinit boot --root /mnt/img -- /sbin/init             asked for explicitly, not as PID 1
  nsinit status                                         what nsinit would do here`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			f := &bringUpFlags{}
			o := &f.opts
			fs.StringVar(&o.Root, "root", "/", "`DIR` holding etc/selinux/config, the policy and the init (tests and chroots)")
			fs.StringVar(&o.ProcDir, "proc", "/proc", "`DIR` where procfs is (mounted there if missing)")
			fs.StringVar(&o.SysDir, "sys", "/sys", "`DIR` where sysfs is (mounted there if missing)")
			fs.StringVar(&o.SelinuxfsDir, "selinuxfs", selinuxfs.DefaultDir, "`DIR` where the fresh selinuxfs is mounted")
			fs.Var(modeFlag{&o.Mode}, "mode", "SELinux `MODE`: enforcing, permissive or disabled (overrides NSINIT_MODE, the kernel command line and the config)")
			fs.StringVar(&o.ExecContext, "exec-context", "", "exec the init in `CONTEXT` explicitly (needs process:transition and file:entrypoint) instead of the policy's automatic transition")
			fs.Var(relabelFlag{&o.Relabel}, "relabel", "first-boot relabel `WHEN`: auto (when /.autorelabel exists, the kernel command line says autorelabel, or the root's label differs from file_contexts), always, or never")
			fs.IntVar(&o.Jobs, "jobs", 0, "relabel with `N` parallel workers (0: one per CPU)")
			fs.BoolVar(&o.AssumeOwnNamespace, "assume-own-namespace", false, "DANGEROUS: load a policy even when nothing proves the SELinux namespace is nsinit's own; on a host without a policy this changes the host's SELinux state")
			fs.BoolVar(&f.supervise, "supervise", false, "after the bring-up stay PID 1 and run the target as a supervised child: relay signals, reap zombies, exit with its status (for images whose entrypoint is an application; see docs/supervise.md)")
			fs.BoolVar(&f.sup.ProcessGroup, "process-group", false, "with --supervise: relay signals to the application's whole process group")
			fs.StringVar(&o.StatusFile, "status-file", "", "write `FILE` when nsinit exits: one JSON line saying who decided the exit status, {\"by\":\"nsinit\"|\"application\",\"status\":N,\"reason\":...} (an application's status 3-6 looks like nsinit's own)")
			fs.DurationVar(&f.sup.Grace, "grace", 0, "with --supervise: send SIGKILL this `DURATION` after a relayed SIGTERM if the application still runs (0: never)")
			fs.BoolVar(&f.unshare, unshareFlag, false, "first give nsinit its own SELinux namespace (as nsinit unshare --boot does), then run the bring-up in it: for a container's PID 1 on a kernel with SELinux namespaces, with CAP_SYS_ADMIN and a host policy that allows process2 { unshare_selinuxns }")
			fs.IntVar(&o.ResumeFD, resumeFlag, 0, "internal: continue the bring-up from the sealed state in descriptor `FD` (nsinit's own re-exec into the init's domain)")
			_ = fs.MarkHidden(resumeFlag)
			fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) of the bring-up to `FILE`, closed before the exec (where the bring-up's time goes; docs/performance.md)")
			f.log.bind(fs)
			return func(e *env, _ []string) int {
				f.words, f.command = splitAtDash(fs)
				if fs.Changed(resumeFlag) && f.opts.ResumeFD == 0 {
					f.opts.ResumeFD = -1 // given, so refused: 0 is the first stage's
				}
				if f.unshare {
					return unshareBringUp(e, commands[bringUp], fs, f.command)
				}
				return runBringUp(e, f)
			}
		},
	})
}

// resumeFlag names the descriptor of the second stage's state. It is hidden: only nsinit
// writes it, on the command line of its own re-exec into the init's domain, and a state the
// kernel does not confirm is refused (boot's verifyResume).
const resumeFlag = "resume-fd"

// resumeArgv returns the second stage's command line: nsinit's own (args, argv[0]
// first), with the bring-up named and the state's descriptor on the hidden flag, so that
// the second stage parses the same flags and words.
func resumeArgv(args []string) func(fd int) []string {
	return func(fd int) []string {
		name, rest := "nsinit", []string(nil)
		if len(args) > 0 {
			name, rest = args[0], args[1:]
		}
		if len(rest) > 0 && rest[0] == bringUp {
			rest = rest[1:]
		}
		return append([]string{name, bringUp, "--" + resumeFlag + "=" + strconv.Itoa(fd)}, rest...)
	}
}

// runBringUp builds the logger and signal handling, and runs the bring-up.
func runBringUp(e *env, f *bringUpFlags) int {
	log, err := newLogger(e, &f.log)
	if err != nil {
		return usageError(e, commands[bringUp], err.Error())
	}
	// Every signal follows sigpolicy.Table from here on (docs/supervise.md, "Signals").
	ctx, stopSignals := sigpolicy.BringUp(log)
	defer stopSignals()

	o := f.opts
	o.Args, o.Words = f.command, f.words
	o.Log = log
	o.Console = e.Stderr
	o.ResumeArgv = resumeArgv(e.Args)
	if format, _ := logging.ParseFormat(f.log.format); format == logging.JSON {
		// One stream, one format: the emergency lines as JSON records too.
		o.Console = logging.LineWriter(log)
	}
	if f.supervise {
		o.Supervise = &f.sup
	} else if f.sup.ProcessGroup || f.sup.Grace != 0 {
		return usageError(e, commands[bringUp], "--process-group and --grace only apply with --supervise")
	}
	sys := e.System(o.ProcDir, o.SelinuxfsDir)
	sys.BeforeHandoff = stopSignals
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			log.Warn("no CPU profile", zap.Error(err))
		} else {
			sys.BeforeHandoff = func() {
				if err := stop(); err != nil {
					log.Warn("CPU profile incomplete", zap.Error(err))
				}
				stopSignals()
			}
			defer stop()
		}
	}
	return boot.Run(ctx, o, sys)
}

// startCPUProfile starts a CPU profile written to path; the function it returns stops it
// and closes the file (again: a no-op). O_NOFOLLOW, as for --status-file.
func startCPUProfile(path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	var once sync.Once
	var cerr error
	return func() error {
		once.Do(func() {
			pprof.StopCPUProfile()
			cerr = f.Close()
		})
		return cerr
	}, nil
}
