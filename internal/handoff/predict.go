package handoff

import "fmt"

// PredictTarget predicts the domain the exec of the file at path will land in: it reads our
// own context and the file's label (through the given readers: go-selinux in production)
// and asks the policy through c. Errors say which of the three failed.
func PredictTarget(c Computer, currentContext func() (string, error), fileContext func(string) (string, error), path string) (Transition, error) {
	cur, err := currentContext()
	if err != nil {
		return Transition{}, fmt.Errorf("read our context: %w", err)
	}
	fc, err := fileContext(path)
	if err != nil {
		return Transition{Current: cur}, fmt.Errorf("read the label of %s: %w", path, err)
	}
	tr, err := Predict(c, cur, fc)
	if err != nil {
		return tr, fmt.Errorf("compute the domain of %s: %w", path, err)
	}
	return tr, nil
}

// Mislabelled reports whether tr, the predicted exec of the init, would leave it in the
// kernel's own domain (kernelContext: the policy's "kernel" initial context), the mark of an
// init whose label has no transition. Comparing with our current domain instead is wrong on
// policies that put PID 1 in init_t at load (userspace_initial_context): there a correct
// init "stays" in init_t.
func Mislabelled(tr Transition, kernelContext string) bool {
	return tr.Expected == kernelContext
}
