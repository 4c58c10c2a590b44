// Package faults is nsinit's fault suite for the files it reads from an image: its tests
// put each kind of special file (FIFO, /dev/zero, directory, dangling symlink, a sparse file
// of gigabytes) at every path the bring-up reads, run the real loader for that path, and
// check that the outcome is defined — an error naming the path, or the outcome libselinux
// documents for a missing file — reached within seconds and in bounded memory.
//
// It is one package above the loaders (config, loadpolicy, fcontext, relabel) so that one
// table covers every path and its figures can be read in one place (go test -v).
package faults
