package boot

import (
	"fmt"
	"strings"

	"github.com/nsinit/nsinit/internal/handoff"
)

// PolicyQuery is what the domain decision asks the loaded policy (*selinuxfs.FS): the
// domain an exec lands in, and unaudited access checks.
type PolicyQuery interface {
	handoff.Computer
	ComputeAV(scon, tcon string, tclass int) (uint32, error)
	PermBit(class, perm string) (bit uint32, ok bool, err error)
	InitialContext(name string) (string, error)
}

// DomainFacts are what the loaded policy says about the domain nsinit works in after the
// load (observeDomain; nil in Facts before the load).
type DomainFacts struct {
	// Current is nsinit's context after the load (kernel_t at boot), Self the label of its
	// own file.
	Current, Self string
	// From is the file whose label decides the target, FromLabel that label: the init (the
	// domain the handoff predicts for it), or nsinit itself in supervisor mode, where
	// nsinit stays PID 1 (systemd's computation from its own binary).
	From, FromLabel string
	// Target is the domain an exec of From lands in: compute_create(Current, FromLabel,
	// process).
	Target string
	// Missing are the permissions the re-exec into Target needs that the policy does not
	// grant, as allow rules; an empty list means the kernel will audit nothing.
	Missing []string
	// Err is why the facts could not be read.
	Err error
}

// DomainPlan is what nsinit does after the load: re-exec itself into the init's domain
// (Switch), or stay; Why says which and why, for the log and `nsinit status`.
type DomainPlan struct {
	Switch bool
	Target string
	Why    string
}

// decideDomain is Decide's answer for the domain nsinit works in after the load.
func decideDomain(p Plan, f Facts) DomainPlan {
	d := f.Domain
	switch {
	case !p.Load:
		return DomainPlan{Why: "no policy is loaded by nsinit: it keeps its domain"}
	case f.Resumed:
		return DomainPlan{Why: "working in the init's domain, entered by re-executing nsinit after the load"}
	case d == nil:
		return DomainPlan{Why: "after the load, nsinit re-executes itself into the init's domain when the policy allows it (else it stays in its own, the kernel's)"}
	case d.Err != nil:
		return DomainPlan{Why: fmt.Sprintf("staying in %s: cannot tell the init's domain: %v", d.Current, d.Err)}
	case d.Target == d.Current:
		return DomainPlan{Target: d.Target, Why: fmt.Sprintf("staying in %s: it is already the domain the policy gives %s (%s)", d.Current, d.From, d.FromLabel)}
	case len(d.Missing) > 0:
		return DomainPlan{Target: d.Target, Why: fmt.Sprintf("staying in %s: the policy does not let nsinit (labelled %s) re-execute itself into %s, the domain of %s: missing %s; to work in %s, label nsinit's file with a type %s may enter from %s (the init's own entrypoint type, init_exec_t in refpolicy and Fedora)",
			d.Current, d.Self, d.Target, d.From, strings.Join(d.Missing, ", "), d.Target, d.Target, d.Current)}
	}
	return DomainPlan{Switch: true, Target: d.Target, Why: fmt.Sprintf("re-executing nsinit into %s, the domain of %s, for the relabel, the mode switch and the handoff", d.Target, d.From)}
}

// rule is one permission check of the re-exec: source on target, class, permissions.
type rule struct {
	source, target, class string
	perms                 []string
}

// reexecRules are the checks the kernel makes, and audits when they fail, when nsinit in
// cur re-executes its own file (self) into target and then sets the mode (security/selinux
// hooks.c: selinux_setprocattr for the exec attribute; selinux_bprm_creds_for_exec for the
// transition, the entrypoint and AT_SECURE; selinux_bprm_committing_creds for the signal
// and rlimit inheritance and the inherited descriptors; the ELF loader's mmap; sel_write_enforce).
func reexecRules(cur, target, self, security string) []rule {
	return []rule{
		{cur, cur, "process", []string{"setexec"}},
		{cur, self, "file", []string{"read", "open", "execute"}},
		{cur, target, "process", []string{"transition", "noatsecure", "siginh", "rlimitinh"}},
		{target, self, "file", []string{"entrypoint", "read", "execute", "map"}},
		{target, cur, "fd", []string{"use"}},
		{target, security, "security", []string{"setenforce"}},
	}
}

// observeDomain reads the facts of the domain decision: our context, our file's label and
// that of from, the target, and which of the re-exec's permissions the policy lacks.
func observeDomain(q PolicyQuery, current func() (string, error), label func(string) (string, error), self, from string) DomainFacts {
	d := DomainFacts{From: from}
	if d.Current, d.Err = current(); d.Err != nil {
		d.Err = fmt.Errorf("read our context: %w", d.Err)
		return d
	}
	if d.Self, d.Err = label(self); d.Err != nil {
		d.Err = fmt.Errorf("read the label of nsinit's file %s: %w", self, d.Err)
		return d
	}
	d.FromLabel = d.Self
	if from != self {
		if d.FromLabel, d.Err = label(from); d.Err != nil {
			d.Err = fmt.Errorf("read the label of %s: %w", from, d.Err)
			return d
		}
	}
	tr, err := handoff.Predict(q, d.Current, d.FromLabel)
	if err != nil {
		d.Err = fmt.Errorf("compute the domain of %s: %w", from, err)
		return d
	}
	d.Target = tr.Expected
	if d.Target == d.Current {
		return d
	}
	d.Missing, d.Err = missingRules(q, d)
	return d
}

// missingRules returns reexecRules' permissions the policy does not grant, as allow rules.
func missingRules(q PolicyQuery, d DomainFacts) ([]string, error) {
	security, err := q.InitialContext("security")
	if err != nil {
		return nil, fmt.Errorf("read the security initial context: %w", err)
	}
	var rules []string
	for _, r := range reexecRules(d.Current, d.Target, d.Self, security) {
		missing, err := missingPerms(q, r)
		if err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			rules = append(rules, fmt.Sprintf("allow %s %s:%s { %s }", typeOf(r.source), typeOf(r.target), r.class, strings.Join(missing, " ")))
		}
	}
	return rules, nil
}

// missingPerms returns the permissions of r the policy does not allow; permissions the
// policy does not define are not checked by the kernel either, and are skipped.
func missingPerms(q PolicyQuery, r rule) ([]string, error) {
	class, err := q.ClassIndex(r.class)
	if err != nil {
		return nil, fmt.Errorf("class %s: %w", r.class, err)
	}
	allowed, err := q.ComputeAV(r.source, r.target, class)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, perm := range r.perms {
		bit, ok, err := q.PermBit(r.class, perm)
		if err != nil {
			return nil, fmt.Errorf("permission %s:%s: %w", r.class, perm, err)
		}
		if ok && allowed&bit == 0 {
			missing = append(missing, perm)
		}
	}
	return missing, nil
}

// typeOf is the type field of a context (user:role:type[:level]), for allow rules.
func typeOf(ctx string) string {
	if f := strings.SplitN(ctx, ":", 4); len(f) >= 3 {
		return f[2]
	}
	return ctx
}
