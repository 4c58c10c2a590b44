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
