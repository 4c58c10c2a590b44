package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The scenarios of issue 12 item 1: after the load nsinit works in the init's domain when
// the policy lets it re-execute itself there, and says why not when it does not. They are
// kept in this file (appended to Scenarios) so that the list in scenarios.go stays one
// place per issue.
func init() {
	Scenarios = append(Scenarios,
		Scenario{
			Name: "init-domain", ID: "12.1",
			Summary: "/sbin/nsinit labelled init_exec_t (an entrypoint of init_t), enforcing, with /.autorelabel: after the load nsinit re-executes itself into init_t (same PID), relabels and enforces there, the init runs in init_t, and the kernel logs no AVC record at all",
			SELinux: "enforcing",
			Change:  all2(labelNSInit(InitExecLabel), addAutorelabel),
			Check: all(expectInit(InitContext, "1", "/sbin/init"),
				expectLine("choose the domain", `"reexec": true`, `"target": "`+InitContext+`"`),
				expectLine("resumed in the init's domain", `"pid": 1`, `"context": "`+InitContext+`"`),
				expectLine("relabel", `"result": "relabelled`, `"context": "`+InitContext+`"`),
				expectLine("set the mode", `"mode": "enforcing"`, `"context": "`+InitContext+`"`),
				expectLogged("re-executed into "+InitContext),
				expectOnlyDenials()),
		},
		Scenario{
			Name: "init-domain-refused", ID: "12.1b",
			Summary: "/sbin/nsinit labelled bin_t (Debian's file_contexts), enforcing: init_t may not enter bin_t, so nsinit says so once at info level (the missing rule and the fix), stays in kernel_t for the relabel, the mode and the exec as before, and the init runs in init_t with no AVC record",
			SELinux: "enforcing",
			Check: all(expectInit(InitContext, "1", "/sbin/init"),
				expectLine("INFO", "choose the domain", `"reexec": false`, "allow init_t bin_t:file { entrypoint }", "init_exec_t"),
				expectLine("set the mode", `"context": "system_u:system_r:kernel_t:s0"`),
				expectNotLogged("resumed in the init's domain"),
				expectOnlyDenials()),
		},
	)
}

// labelNSInit returns a Change that makes the image's labelling give /sbin/nsinit label: a
// copy of the policy's file_contexts (with its .subs_dist and .homedirs companions, which
// setfiles reads beside it) with an exact spec for /usr/sbin/nsinit, the path .subs_dist
// makes of /sbin/nsinit. The image's own policy is
// unchanged, as a distribution's package would label its file.
func labelNSInit(label string) func(e Env, im *Image) error {
	return func(e Env, im *Image) error {
		src := im.FileContexts
		dir := filepath.Join(e.vmDir(), "fc-nsinit-"+strings.NewReplacer(":", "_").Replace(label))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, suffix := range []string{"", ".subs_dist", ".homedirs"} {
			data, err := os.ReadFile(src + suffix)
			if os.IsNotExist(err) && suffix != "" {
				continue
			}
			if err != nil {
				return err
			}
			if suffix == "" {
				data = fmt.Appendf(data, "\n/usr/sbin/nsinit\t--\t%s\n", label)
			}
			if err := os.WriteFile(filepath.Join(dir, "file_contexts"+suffix), data, 0o644); err != nil {
				return err
			}
		}
		im.FileContexts = filepath.Join(dir, "file_contexts")
		return nil
	}
}

// addAutorelabel asks for a first-boot relabel (an empty /.autorelabel).
func addAutorelabel(_ Env, im *Image) error {
	im.AddFile(autorelabel, 0o644, nil)
	return nil
}

// all2 combines Changes in order.
func all2(changes ...func(Env, *Image) error) func(Env, *Image) error {
	return func(e Env, im *Image) error {
		for _, c := range changes {
			if err := c(e, im); err != nil {
				return err
			}
		}
		return nil
	}
}

// expectLine checks that one nsinit log line contains every one of words.
func expectLine(words ...string) func(*Result) error {
	return func(r *Result) error {
	lines:
		for _, l := range strings.Split(r.Console, "\n") {
			if !strings.Contains(l, "nsinit") {
				continue
			}
			for _, w := range words {
				if !strings.Contains(l, w) {
					continue lines
				}
			}
			return nil
		}
		return fmt.Errorf("no nsinit log line contains all of %q", words)
	}
}

// expectNotLogged checks that no nsinit log line contains text.
func expectNotLogged(text string) func(*Result) error {
	return func(r *Result) error {
		if expectLogged(text)(r) == nil {
			return fmt.Errorf("an nsinit log line contains %q", text)
		}
		return nil
	}
}
