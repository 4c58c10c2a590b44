package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/selinuxfs"
)

func init() {
	register(&command{
		Name:     "getenforce",
		Synopsis: "nsinit getenforce [--root DIR] [--selinuxfs DIR]",
		Summary:  "print Enforcing, Permissive or Disabled, like getenforce",
		Help: `getenforce prints the current SELinux mode in one word, with libselinux's rules
(getenforce(8)): "Disabled" unless a selinuxfs is mounted at --selinuxfs and
ROOT/etc/selinux/config exists (is_selinux_enabled), else "Enforcing" or "Permissive" as
the selinuxfs's enforce node says. In a container with its own SELinux namespace this is
the namespace's mode, the one the bring-up set. Exit status 0, 1 when the enforce node
cannot be read (the message names it), 2 for bad usage. For the full picture use nsinit
status.

Examples:
  nsinit getenforce                   Enforcing
  [ "$(nsinit getenforce)" = Enforcing ] || echo "not enforcing"`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			var root, dir string
			fs.StringVar(&root, "root", "/", "`DIR` holding etc/selinux/config")
			fs.StringVar(&dir, "selinuxfs", selinuxfs.DefaultDir, "`DIR` of the selinuxfs to read")
			return func(e *env, args []string) int {
				if len(args) > 0 {
					return usageError(e, commands["getenforce"], fmt.Sprintf("takes no arguments, got %q", args))
				}
				word, err := getenforce(root, selinuxfs.Open(dir))
				if err != nil {
					fmt.Fprintf(e.Stderr, "nsinit getenforce: %v; check that %s is a selinuxfs (mount -t selinuxfs none %s)\n", err, dir, dir)
					return exitcode.Failure
				}
				fmt.Fprintln(e.Stdout, word)
				return exitcode.OK
			}
		},
	})
}

// getenforce is getenforce(8)'s word for the selinuxfs fs, with root's config deciding
// whether SELinux counts as enabled at all (libselinux's is_selinux_enabled).
func getenforce(root string, fs *selinuxfs.FS) (string, error) {
	if !fs.IsMounted() {
		return "Disabled", nil
	}
	if _, err := os.Stat(config.Path(root)); err != nil {
		return "Disabled", nil
	}
	on, err := fs.Enforce()
	switch {
	case err != nil:
		return "", err
	case on:
		return "Enforcing", nil
	}
	return "Permissive", nil
}
