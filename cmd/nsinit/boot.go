package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/boot"
	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/firstboot"
	"github.com/nsinit/nsinit/internal/logging"
	"github.com/nsinit/nsinit/internal/policydb"
	"github.com/nsinit/nsinit/internal/selinuxfs"
	"github.com/nsinit/nsinit/internal/supervise"
)

// sigRTMin3 is SIGRTMIN+3 as userspace numbers it (glibc's SIGRTMIN is 34): the signal
// podman and systemd use to stop a systemd container.
const sigRTMin3 = unix.Signal(37)

// abortSignals stop the bring-up cleanly. Without a handler a Go PID 1 exits with status 2
// on SIGTERM and ignores the others (go-dependencies-and-pid1.md §3.3).
var abortSignals = []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGPWR, sigRTMin3}

// modeFlag adapts config.Mode to flag.Value.
type modeFlag struct{ m *config.Mode }

func (f modeFlag) String() string {
	if f.m == nil || *f.m == config.ModeUnset {
		return ""
	}
	return f.m.String()
}

func (f modeFlag) Set(s string) error {
	m, err := config.ParseMode(s)
	if err == nil {
		*f.m = m
	}
	return err
}

// logFlags are the logging flags every long-running command shares.
type logFlags struct{ format, level string }

func (l *logFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "console", "log `FORMAT`: console (human-readable) or json (one object per line)")
	fs.StringVar(&l.level, "log-level", "info", "minimum log `LEVEL`: debug, info, warn or error")
}

// bringUpFlags are the flags of the default command.
type bringUpFlags struct {
	opts      boot.Options
	relabel   firstboot.Policy
	jobs      int
	supervise bool
	sup       supervise.Options
	log       logFlags
}

// relabelFlag adapts firstboot.Policy to flag.Value.
type relabelFlag struct{ p *firstboot.Policy }

func (f relabelFlag) String() string {
	if f.p == nil {
		return firstboot.RelabelAuto.String()
	}
	return f.p.String()
}

func (f relabelFlag) Set(s string) error {
	p, err := firstboot.ParsePolicy(s)
	if err == nil {
		*f.p = p
	}
	return err
}

func init() {
	register(&command{
		Name:     "",
		Synopsis: "nsinit [flags] [-- INIT [ARGS...]]",
		Summary:  "bring SELinux up as PID 1 and exec the real init (the default command)",
		Help: `Run as PID 1 of a container that has its own, freshly unshared SELinux namespace, or
as the machine's first process (initramfs style). nsinit detects whether the SELinux
namespace is its own and still without a policy, reads <root>/etc/selinux/config with
libselinux's rules, mounts a fresh selinuxfs, loads the newest policy.N the kernel accepts,
relabels where needed, sets the mode, and execs the init in its policy domain.

The init is the program after --, else init= from the kernel command line (at boot only),
else the first of /sbin/init, /lib/systemd/systemd, /usr/lib/systemd/systemd. Arguments
before -- that are not flags are passed to that init (the kernel hands words such as
"single" to PID 1 this way). argv, environment and file descriptors pass through.

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

Examples:
  nsinit -- /lib/systemd/systemd --log-level=debug     container entrypoint before systemd
  nsinit --supervise --grace 10s -- /usr/bin/myapp      application container
  nsinit --mode permissive                              boot, permissive, default init
  nsinit status                                         what nsinit would do here`,
		Setup: func(fs *flag.FlagSet) func(e *env, args []string) int {
			f := &bringUpFlags{}
			o := &f.opts
			fs.StringVar(&o.Root, "root", "/", "`DIR` holding etc/selinux/config, the policy and the init (tests and chroots)")
			fs.StringVar(&o.ProcDir, "proc", "/proc", "`DIR` where procfs is (mounted there if missing)")
			fs.StringVar(&o.SysDir, "sys", "/sys", "`DIR` where sysfs is (mounted there if missing)")
			fs.StringVar(&o.SelinuxfsDir, "selinuxfs", selinuxfs.DefaultDir, "`DIR` where the fresh selinuxfs is mounted")
			fs.Var(modeFlag{&o.Mode}, "mode", "SELinux `MODE`: enforcing, permissive or disabled (overrides NSINIT_MODE, the kernel command line and the config)")
			fs.StringVar(&o.ExecContext, "exec-context", "", "exec the init in `CONTEXT` explicitly (needs process:transition and file:entrypoint) instead of the policy's automatic transition")
			fs.Var(relabelFlag{&f.relabel}, "relabel", "first-boot relabel `WHEN`: auto (when /.autorelabel exists, the kernel command line says autorelabel, or the root's label differs from file_contexts), always, or never")
			fs.IntVar(&f.jobs, "jobs", 0, "relabel with `N` parallel workers (0: one per CPU)")
			fs.BoolVar(&o.AssumeOwnNamespace, "assume-own-namespace", false, "DANGEROUS: load a policy even when nothing proves the SELinux namespace is nsinit's own; on a host without a policy this changes the host's SELinux state")
			fs.BoolVar(&f.supervise, "supervise", false, "after the bring-up stay PID 1 and run the target as a supervised child: relay signals, reap zombies, exit with its status (for images whose entrypoint is an application; see docs/supervise.md)")
			fs.BoolVar(&f.sup.ProcessGroup, "process-group", false, "with --supervise: relay signals to the application's whole process group")
			fs.DurationVar(&f.sup.Grace, "grace", 0, "with --supervise: send SIGKILL this `DURATION` after a relayed SIGTERM if the application still runs (0: never)")
			f.log.bind(fs)
			return func(e *env, args []string) int { return runBringUp(e, f, args) }
		},
	})
}

// runBringUp builds the logger and signal handling, and runs the bring-up.
func runBringUp(e *env, f *bringUpFlags, args []string) int {
	log, err := newLogger(&f.log)
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit:", err)
		return exitcode.Usage
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, abortSignals...)
	go func() {
		if s, ok := <-sigs; ok {
			cancel(fmt.Errorf("received %v", s))
		}
	}()

	o := f.opts
	o.Args = args
	o.Log = log
	o.Console = e.Stderr
	o.Relabel = boot.FirstBootRelabel(f.relabel, f.jobs, log)
	o.Downgrade = policydb.Downgrade
	if f.supervise {
		o.Supervise = &f.sup
	} else if f.sup.ProcessGroup || f.sup.Grace != 0 {
		fmt.Fprintln(e.Stderr, "nsinit: --process-group and --grace only apply with --supervise")
		return exitcode.Usage
	}
	sys := boot.RealSystem(o.ProcDir, o.SelinuxfsDir)
	sys.BeforeHandoff = func() { signal.Stop(sigs); close(sigs) }
	return boot.Run(ctx, o, sys)
}

// newLogger builds the logger the flags ask for.
func newLogger(l *logFlags) (*zap.Logger, error) {
	format, err := logging.ParseFormat(l.format)
	if err != nil {
		return nil, err
	}
	level, err := logging.ParseLevel(l.level)
	if err != nil {
		return nil, err
	}
	return logging.New(os.Stderr, format, level), nil
}
