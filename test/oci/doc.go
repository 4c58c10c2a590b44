// Package oci tests nsinit in a real container runtime: Debian's podman with runc, images
// built offline from the provisioned debootstrap trees plus a freshly built nsinit, and
// the checks of issue 17 (exit statuses, signal relays, grace escalation, reaping, podman's
// --init, --read-only, --cap-drop ALL, --user, the default seccomp profile, fail-closed
// enforcing, and systemd behind nsinit). The package holds tests only; docs/testing.md
// describes the suite.
package oci
