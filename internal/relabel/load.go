package relabel

import (
	"fmt"

	"github.com/nsinit/nsinit/internal/fcontext"
)

// LoadFileContexts loads file_contexts and its companions (fcontext.Load) as a Labeler.
func LoadFileContexts(path string) (Labeler, error) {
	h, err := fcontext.Load(path)
	if err != nil {
		return nil, fmt.Errorf("relabel: %w", err)
	}
	return h, nil
}
