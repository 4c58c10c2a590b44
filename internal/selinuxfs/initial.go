package selinuxfs

import "path/filepath"

// InitialContext returns the context of the named initial SID ("kernel", "init", "file",
// ...) in the loaded policy: the initial_contexts/<name> node.
func (f *FS) InitialContext(name string) (string, error) {
	return f.readNode(filepath.Join("initial_contexts", name))
}
