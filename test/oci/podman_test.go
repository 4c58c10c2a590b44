package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

// Image names. The bases are the provisioned debootstrap trees imported as one layer each;
// the others are built from testdata/*.Containerfile on top of them.
const (
	minbaseImage        = "localhost/minbase"
	minbaseSystemdImage = "localhost/minbase-systemd"
	appImage            = "nsinit-app"
	rtmin3Image         = "nsinit-app-rtmin3"
	systemdImage        = "nsinit-systemd"
)

// catatonit is the init `podman run --init` puts in front (Debian's catatonit package).
const catatonit = "/usr/libexec/podman/catatonit"

// Limits of the runtime's setrlimit calls. podman 4.3 lowers its own RLIMIT_NPROC to
// 32768 and then asks the OCI runtime for nofile and nproc 1048576 in every rootful
// container; raising a hard limit needs CAP_SYS_RESOURCE, which sandboxes like this one
// drop, and runc then fails with "error setting rlimits ...: operation not permitted".
// default_ulimits asks for what the runtime already has instead.
const (
	maxNofile = 1048576
	maxNproc  = 32768
)

// blobInfoCache is where podman 4.3 as root records blob digests whenever it writes an
// image (import, build), whatever the storage configuration says: the one host path the
// suite cannot redirect. reset removes it again when the suite created it.
const blobInfoCache = "/var/lib/containers/cache"

// cmdTimeout bounds every podman command: none of them should take more than seconds.
const cmdTimeout = 2 * time.Minute

// podman runs Debian's podman against a scratch configuration under dir: its own
// containers.conf, storage.conf and registries.conf (CONTAINERS_CONF,
// CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF), so that the suite never reads or
// changes the host's containers, images or networks.
type podman struct {
	dir string
	env []string
	// created is the outermost directory of blobInfoCache that did not exist before the
	// suite ran ("" if all of it did).
	created string
}

// newPodman writes the scratch configuration into dir.
func newPodman(dir string) (*podman, error) {
	var nofile, nproc unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		return nil, fmt.Errorf("getrlimit RLIMIT_NOFILE: %w", err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &nproc); err != nil {
		return nil, fmt.Errorf("getrlimit RLIMIT_NPROC: %w", err)
	}
	no, np := min(nofile.Max, maxNofile), min(nproc.Max, maxNproc)
	// runc, not crun: Debian 12's crun 1.8.1 refuses hybrid cgroup hierarchies ("cgroups in
	// hybrid mode not supported"); runc runs on v1, hybrid and v2. cgroupfs: systemd need not
	// be PID 1. netns none: no CNI plugins or netavark needed. pull_policy never: nothing
	// is ever fetched from a registry.
	conf := fmt.Sprintf(`[containers]
default_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "%[5]s/events.log"
tmp_dir = "%[5]s/tmp"
pull_policy = "never"

[network]
network_config_dir = "%[5]s/networks"
`, no, no, np, np, dir)
	storage := fmt.Sprintf("[storage]\ndriver = \"overlay\"\ngraphroot = \"%[1]s/root\"\nrunroot = \"%[1]s/runroot\"\n", dir)
	files := map[string]string{
		"containers.conf": conf,
		"storage.conf":    storage,
		"registries.conf": "unqualified-search-registries = []\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	env := append(os.Environ(),
		"CONTAINERS_CONF="+filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"),
		"CONTAINERS_REGISTRIES_CONF="+filepath.Join(dir, "registries.conf"))
	p := &podman{dir: dir, env: env}
	for d := blobInfoCache; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			p.created = d
		}
	}
	return p, nil
}

// result is how one podman command ended.
type result struct {
	stdout, stderr string
	// status is podman's exit status: for `podman run`, the container's.
	status int
	took   time.Duration
}

// command returns podman with args under the scratch configuration.
func (p *podman) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.Env = p.env
	return cmd
}

// exec runs podman with args to its end. An error means podman did not run or timed out;
// a non-zero exit status is not an error.
func (p *podman) exec(args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := p.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(t0)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("podman %s: timed out after %v\n%s", shellWords(args), cmdTimeout, r.stderr)
	case errors.As(err, &ee):
		r.status = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("podman %s: %w", shellWords(args), err)
	}
	return r, nil
}

// run is exec for tests: it fails t when podman could not run and logs the command.
func (p *podman) run(t testing.TB, args ...string) result {
	t.Helper()
	r, err := p.exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("podman %s: status %d in %v", shellWords(args), r.status, r.took.Round(time.Millisecond))
	return r
}

// mustRun runs podman and returns an error naming the command unless it exits 0.
func (p *podman) mustRun(args ...string) error {
	r, err := p.exec(args...)
	if err == nil && r.status != 0 {
		err = fmt.Errorf("podman %s: exit status %d\n%s", shellWords(args), r.status, r.stderr)
	}
	return err
}

// importTree imports the directory tree as the one-layer image name: GNU tar's archive
// (numeric owners, without provision.sh's .done stamp) piped into `podman import`.
func (p *podman) importTree(tree, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	tar := exec.CommandContext(ctx, "tar", "--numeric-owner", "--exclude=./.done", "-C", tree, "-c", ".")
	imp := p.command(ctx, "import", "-", name)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	var tarErr, impOut bytes.Buffer
	tar.Stderr, imp.Stdin, imp.Stdout, imp.Stderr = &tarErr, pipe, &impOut, &impOut
	if err := tar.Start(); err != nil {
		return fmt.Errorf("tar -C %s: %w", tree, err)
	}
	ierr := imp.Run()
	if err := tar.Wait(); err != nil {
		return fmt.Errorf("tar -C %s: %w\n%s", tree, err, tarErr.String())
	}
	if ierr != nil {
		return fmt.Errorf("podman import - %s: %w\n%s", name, ierr, impOut.String())
	}
	return nil
}

// build builds testdata/<file> as tag with the build context dir (which holds nsinit).
func (p *podman) build(file, tag, dir string) error {
	cf, err := filepath.Abs(filepath.Join("testdata", file))
	if err != nil {
		return err
	}
	return p.mustRun(buildArgs(cf, tag, dir)...)
}

// buildArgs is the `podman build` of an image: offline (no pull, no network for RUN).
func buildArgs(containerfile, tag, dir string) []string {
	return []string{"build", "--pull=never", "--network", "none", "-f", containerfile, "-t", tag, dir}
}

// reset removes every container, image and layer of the scratch storage, then the
// scratch directory and the blob digest cache the suite created.
func (p *podman) reset() error {
	err := p.mustRun("system", "reset", "--force")
	err = errors.Join(err, os.RemoveAll(p.dir))
	if p.created != "" {
		err = errors.Join(err, os.RemoveAll(p.created))
	}
	return err
}

// suite is the state the tests share: one scratch podman and one build of each image per
// run of the test binary, removed again by TestMain.
var suite struct {
	once     sync.Once
	p        *podman
	unusable string // why podman cannot start any container here
	err      error
	took     time.Duration

	systemdOnce sync.Once
	systemdErr  error
	systemdTook time.Duration
}

func TestMain(m *testing.M) {
	code := m.Run()
	if suite.p != nil {
		if err := suite.p.reset(); err != nil {
			fmt.Fprintf(os.Stderr, "test/oci: cleaning up %s: %v\n", suite.p.dir, err)
			code = max(code, 1)
		}
	}
	os.Exit(code)
}

// app returns the scratch podman with the application images (appImage, rtmin3Image)
// built, building them on first use. It skips (or fails, NSINIT_REQUIRE_REAL=1) when a
// prerequisite is missing or podman cannot start a container at all here.
func app(t *testing.T) *podman {
	t.Helper()
	testutil.RequireRoot(t)
	for _, tool := range []string{"podman", "runc", "tar", "go"} {
		testutil.RequireTool(t, tool)
	}
	if _, err := os.Stat(catatonit); err != nil {
		testutil.Missing(t, "catatonit (podman --init) not installed: "+err.Error())
	}
	minbase := testutil.Minbase(t)
	repo := testutil.RepoRoot(t)
	suite.once.Do(func() {
		t0 := time.Now()
		suite.p, suite.unusable, suite.err = setUp(repo, minbase)
		suite.took = time.Since(t0)
		if suite.err == nil {
			t.Logf("scratch podman in %s; nsinit and the application images built in %v", suite.p.dir, suite.took.Round(time.Millisecond))
		}
	})
	if suite.err != nil {
		t.Fatal(suite.err)
	}
	if suite.unusable != "" {
		testutil.Missing(t, suite.unusable)
	}
	return suite.p
}

// setUp creates the scratch podman, builds nsinit into the build context, imports the
// minbase tree, checks that a container starts at all and builds the application images.
func setUp(repo, minbase string) (*podman, string, error) {
	dir, err := os.MkdirTemp("", "nsinit-oci-")
	if err != nil {
		return nil, "", err
	}
	p, err := newPodman(dir)
	if err != nil {
		// No scratch configuration: never let TestMain run `podman system reset` without one.
		return nil, "", errors.Join(err, os.RemoveAll(dir))
	}
	ctx := filepath.Join(dir, "context")
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(ctx, "nsinit"), "./cmd/nsinit")
	build.Dir, build.Env = repo, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return p, "", fmt.Errorf("go build ./cmd/nsinit: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "enforcing.config"), []byte("SELINUX=enforcing\nSELINUXTYPE=default\n"), 0o644); err != nil {
		return p, "", err
	}
	if err := p.importTree(minbase, minbaseImage); err != nil {
		return p, "", err
	}
	if r, err := p.exec("run", "--rm", minbaseImage, "/bin/true"); err != nil || r.status != 0 {
		return p, fmt.Sprintf("podman (runc) cannot start a container here: %v status %d: %s",
			err, r.status, strings.TrimSpace(r.stderr)), nil
	}
	if err := p.build("app.Containerfile", appImage, ctx); err != nil {
		return p, "", err
	}
	return p, "", p.build("app-rtmin3.Containerfile", rtmin3Image, ctx)
}

// withSystemd returns the scratch podman with systemdImage built too.
func withSystemd(t *testing.T) *podman {
	t.Helper()
	p := app(t)
	tree := testutil.MinbaseSystemd(t)
	suite.systemdOnce.Do(func() {
		t0 := time.Now()
		suite.systemdErr = p.importTree(tree, minbaseSystemdImage)
		if suite.systemdErr == nil {
			suite.systemdErr = p.build("systemd.Containerfile", systemdImage, filepath.Join(p.dir, "context"))
		}
		suite.systemdTook = time.Since(t0)
		t.Logf("systemd image built in %v", suite.systemdTook.Round(time.Millisecond))
	})
	if suite.systemdErr != nil {
		t.Fatal(suite.systemdErr)
	}
	return p
}

// container is a `podman run --rm --name NAME ...` running attached in the background.
type container struct {
	name   string
	out    *output
	done   chan struct{}
	res    result
	runErr error
}

// output collects a running container's stdout and stderr and wakes waiters on each write.
type output struct {
	mu             sync.Mutex
	stdout, stderr bytes.Buffer
	wake           chan struct{}
}

// stream is one of output's buffers as an io.Writer.
type stream struct {
	o *output
	b *bytes.Buffer
}

func (s stream) Write(b []byte) (int, error) {
	s.o.mu.Lock()
	defer s.o.mu.Unlock()
	select {
	case s.o.wake <- struct{}{}:
	default:
	}
	return s.b.Write(b)
}

// text returns what the container wrote so far.
func (o *output) text() (stdout, stderr string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stdout.String(), o.stderr.String()
}

// start runs `podman run --rm --name NAME ARGS...` in the background, NAME derived from
// the test's name. The container is removed when the test ends, whatever happened.
func (p *podman) start(t *testing.T, args ...string) *container {
	t.Helper()
	name := "nsinit-oci-" + regexp.MustCompile(`[^a-zA-Z0-9_.-]+`).ReplaceAllString(t.Name(), "-")
	c := &container{name: name, out: &output{wake: make(chan struct{}, 1)}, done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	argv := append([]string{"run", "--rm", "--name", name}, args...)
	cmd := p.command(ctx, argv...)
	cmd.Stdout, cmd.Stderr = stream{c.out, &c.out.stdout}, stream{c.out, &c.out.stderr}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("podman %s: %v", shellWords(argv), err)
	}
	t.Logf("started podman %s", shellWords(argv))
	go func() {
		defer cancel()
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			c.res.status = ee.ExitCode()
		} else {
			c.runErr = err
		}
		c.res.took = time.Since(t0)
		c.res.stdout, c.res.stderr = c.out.text()
		close(c.done)
	}()
	t.Cleanup(func() {
		_, _ = p.exec("rm", "--force", "--time", "0", name)
		<-c.done
	})
	return c
}

// waitFor waits until the container's stderr matches re, and fails t if the container
// ends first or timeout passes.
func (c *container) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		stdout, stderr := c.out.text()
		if re.MatchString(stderr) {
			return
		}
		select {
		case <-c.out.wake:
		case <-c.done:
			stdout, stderr = c.out.text()
			if !re.MatchString(stderr) {
				t.Fatalf("container %s ended (status %d) before its stderr matched %q\nstdout:\n%s\nstderr:\n%s",
					c.name, c.res.status, re, stdout, stderr)
			}
			return
		case <-deadline.C:
			t.Fatalf("container %s: stderr did not match %q within %v\nstdout:\n%s\nstderr:\n%s",
				c.name, re, timeout, stdout, stderr)
		}
	}
}

// wait waits for the container's end and returns how `podman run` ended.
func (c *container) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(cmdTimeout):
		t.Fatalf("container %s did not end within %v", c.name, cmdTimeout)
	}
	if c.runErr != nil {
		t.Fatalf("podman run --name %s: %v", c.name, c.runErr)
	}
	return c.res
}

// started matches nsinit's log line once the supervised application runs (and nsinit's
// signal relay is set up: a signal before it would abort the bring-up instead).
var started = regexp.MustCompile(`started application`)

// shellWords renders args as a POSIX shell would need them typed: single-quoted where a
// word holds anything but letters, digits and -_./:=+,@%.
func shellWords(args []string) string {
	safe := regexp.MustCompile(`^[a-zA-Z0-9_./:=+,@%-]+$`)
	words := make([]string, len(args))
	for i, a := range args {
		if safe.MatchString(a) {
			words[i] = a
		} else {
			words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(words, " ")
}
