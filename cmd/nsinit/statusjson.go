package main

import (
	"encoding/json"
	"io"

	"github.com/nsinit/nsinit/internal/boot"
	"github.com/nsinit/nsinit/internal/exitcode"
)

// statusSchema is the version of `nsinit status --json`'s object (docs/admin.md). Fields
// are only ever added; a change of meaning or removal bumps it.
const statusSchema = 1

// statusDoc is `nsinit status --json`: the surveyed facts and the plan, one object.
type statusDoc struct {
	Schema      int             `json:"schema"`
	Root        string          `json:"root"`
	MachinePID1 bool            `json:"machine_pid1"`
	Detection   statusDetection `json:"detection"`
	Config      statusConfig    `json:"config"`
	Mode        string          `json:"mode"`
	ModeSource  string          `json:"mode_source"`
	Selinuxfs   statusSelinuxfs `json:"selinuxfs"`
	KernelMax   int             `json:"kernel_max"`
	Policy      *statusPolicy   `json:"policy"`
	PolicyError string          `json:"policy_error,omitempty"`
	Init        statusInit      `json:"init"`
	Plan        statusPlan      `json:"plan"`
	Exit        int             `json:"exit"`
}

type statusDetection struct {
	Verdict  string   `json:"verdict"`
	Signal   string   `json:"signal"`
	Evidence []string `json:"evidence"`
	Reason   string   `json:"reason,omitempty"`
	Context  string   `json:"context"`
}

type statusConfig struct {
	Path     string   `json:"path,omitempty"`
	Found    bool     `json:"found"`
	Type     string   `json:"type,omitempty"`
	Warnings []string `json:"warnings"`
	Error    string   `json:"error,omitempty"`
}

type statusSelinuxfs struct {
	Dir          string `json:"dir"`
	Mounted      bool   `json:"mounted"`
	PolicyVers   *int   `json:"policyvers"`
	Enforce      *bool  `json:"enforce"`
	PolicyLoaded *bool  `json:"policy_loaded"`
}

type statusPolicy struct {
	Path          string `json:"path"`
	FileVersion   int    `json:"file_version"`
	LoadVersion   int    `json:"load_version"`
	Downgraded    bool   `json:"downgraded"`
	MLS           bool   `json:"mls"`
	HandleUnknown string `json:"handle_unknown"`
	Bytes         int    `json:"bytes"`
}

type statusInit struct {
	Path   string   `json:"path,omitempty"`
	Argv   []string `json:"argv"`
	Source string   `json:"source,omitempty"`
	Error  string   `json:"error,omitempty"`
}

type statusPlan struct {
	// Outcome: "hand-off", "hand-off-without-selinux" (a failure that is a warning in
	// this mode) or "stop" (the init is not started; the document's exit says how).
	Outcome string         `json:"outcome"`
	Load    bool           `json:"load"`
	Reason  string         `json:"reason"`
	Problem *statusProblem `json:"problem"`
	// Domain says what nsinit does about its own domain after the load.
	Domain string `json:"domain"`
}

type statusProblem struct {
	What  string `json:"what"`
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

// statusExit is the exit status of `nsinit status`: the status the bring-up would exit
// with here when its plan stops (3 refused, 4 fail closed, 5 nothing to exec, 2 a bad
// NSINIT_MODE), 1 when the configuration cannot be read, else 0 (it would hand off, with
// or without SELinux).
func statusExit(f boot.Facts, plan boot.Plan) int {
	if p := plan.Problem; p != nil {
		if out := plan.Outcome(*p); out.Stop {
			return out.Code
		}
	}
	if f.ConfigErr != nil {
		return exitcode.Failure
	}
	return exitcode.OK
}

// writeStatusJSON writes the status object for f, plan and the selinuxfs state sfs.
func writeStatusJSON(w io.Writer, f boot.Facts, plan boot.Plan, sfs selinuxfsState) error {
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	d := statusDoc{
		Schema: statusSchema, Root: f.Root, MachinePID1: f.MachinePID1,
		Detection: statusDetection{Verdict: f.Detection.Verdict.String(), Signal: f.Detection.Signal,
			Evidence: append([]string{}, f.Detection.Evidence...), Reason: f.Detection.Reason, Context: f.Detection.Context},
		Config:     statusConfig{Warnings: []string{}, Error: errText(f.ConfigErr)},
		Mode:       plan.Mode.String(),
		ModeSource: string(plan.ModeSource),
		Selinuxfs:  statusSelinuxfs{Dir: sfs.Dir, Mounted: sfs.Mounted},
		KernelMax:  f.KernelMax, PolicyError: errText(f.PolicyErr),
		Init: statusInit{Argv: []string{}, Error: errText(f.InitErr)},
		Plan: statusPlan{Outcome: "hand-off", Load: plan.Load, Reason: plan.Reason, Domain: plan.Domain.Why},
		Exit: statusExit(f, plan),
	}
	if c := f.Config; c != nil {
		d.Config.Path, d.Config.Found, d.Config.Type = c.Path, c.Found, c.Type
		for _, wn := range c.Warnings {
			d.Config.Warnings = append(d.Config.Warnings, wn.String())
		}
	}
	if sfs.Mounted && sfs.VersErr == nil {
		d.Selinuxfs.PolicyVers = &sfs.PolicyVers
	}
	if sfs.Mounted && sfs.EnforceErr == nil {
		d.Selinuxfs.Enforce = &sfs.Enforce
	}
	if sfs.Mounted && sfs.LoadedErr == nil {
		d.Selinuxfs.PolicyLoaded = &sfs.Loaded
	}
	if img := f.Policy; img != nil {
		d.Policy = &statusPolicy{Path: img.Path, FileVersion: img.FileVersion, LoadVersion: int(img.Header.Version),
			Downgraded: img.Downgraded, MLS: img.Header.MLS, HandleUnknown: img.Header.HandleUnknown.String(), Bytes: len(img.Data)}
	}
	if f.InitErr == nil {
		d.Init.Path, d.Init.Argv, d.Init.Source = f.Init.Path, append(d.Init.Argv, f.Init.Argv...), string(f.Init.Source)
	}
	if p := plan.Problem; p != nil {
		d.Plan.Problem = &statusProblem{What: p.What, Error: errText(p.Err), Hint: p.Hint}
		d.Plan.Outcome = "hand-off-without-selinux"
		if plan.Outcome(*p).Stop {
			d.Plan.Outcome = "stop"
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}
