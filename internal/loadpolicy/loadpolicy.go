// Package loadpolicy chooses the binary policy file for the running kernel, validates it
// and writes it to selinuxfs — libselinux's selinux_mkload_policy without libsepol
// (selinux-userspace.md §B.2), plus an optional in-memory downgrade for a policy newer than
// the kernel (policy-versions.md).
package loadpolicy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nsinit/nsinit/internal/imagefile"
	"github.com/nsinit/nsinit/internal/policydb"
)

// MaxImageSize bounds the policy files nsinit reads (imagefile's limit): Debian's policy.33
// is 2.1 MB, Fedora's a few MB; 256 MiB is a hundred times that, and a file near it is not a
// policy and must not be read into memory whole. libselinux has no limit.
const MaxImageSize = 256 << 20

// Image is a policy read from disk, validated and ready to load.
type Image struct {
	// Path is the file the image came from.
	Path string
	// FileVersion is N of policy.N; Header.Version is what the image says after any
	// downgrade.
	FileVersion int
	Header      policydb.Header
	Data        []byte
	// FileBytes is the size of the file; len(Data) differs after a downgrade.
	FileBytes int
	// admitted is set by Admit when Data passed it, and cleared by Fit when Data changes:
	// Load does not walk the same bytes a second time (the check is a share of boot time).
	admitted bool
	// Downgraded is true when Data was converted in memory from a newer version.
	Downgraded bool
	// Warnings are non-fatal oddities (e.g. a file name that disagrees with its header).
	Warnings []string
	// ReadTime is the time spent reading, validating and downgrading.
	ReadTime time.Duration
	// Newest is the highest N of the policy.N files in the directory (Read): a loader that
	// searches from a higher version than the kernel's (libselinux with libsepol) opens
	// the same file only when Newest is at most the kernel's maximum.
	Newest int
}

// NoPolicyError means no policy.N the kernel can load exists in Dir.
type NoPolicyError struct {
	Dir       string
	KernelMax int
	// Present lists the versions found in Dir, ascending.
	Present []int
	// Refusals explains, per file, why it could not be used: a name in Dir that cannot be
	// opened (a dangling symlink), a newer file that could not be downgraded.
	Refusals []string
	// DirErr is set when Dir itself could not be read.
	DirErr error
}

func (e *NoPolicyError) Error() string {
	if e.DirErr != nil {
		return fmt.Sprintf("no policy: cannot read policy directory %s: %v", e.Dir, unwrapPathErr(e.DirErr))
	}
	if len(e.Present) == 0 {
		return fmt.Sprintf("no policy: %s holds no policy.N file (expected %s)", e.Dir, filepath.Join(e.Dir, "policy."+strconv.Itoa(e.KernelMax)))
	}
	names := make([]string, len(e.Present))
	for i, v := range e.Present {
		names[i] = "policy." + strconv.Itoa(v)
	}
	msg := fmt.Sprintf("no loadable policy in %s: %s present, kernel supports ≤ %d", e.Dir, strings.Join(names, ", "), e.KernelMax)
	if len(e.Refusals) > 0 {
		msg += ":\n" + strings.Join(e.Refusals, "\n")
	} else if e.Present[0] > e.KernelMax {
		msg += ":\n" + policydb.StandardFixes(filepath.Join(e.Dir, "policy."+strconv.Itoa(e.Present[0])), e.KernelMax)
	}
	return msg
}

// unwrapPathErr drops the *os.PathError wrapper when the message names the path already.
func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// InvalidError means the selected file is not a loadable policy.
type InvalidError struct {
	Path string
	Err  error
}

func (e *InvalidError) Error() string { return fmt.Sprintf("invalid policy %s: %v", e.Path, e.Err) }
func (e *InvalidError) Unwrap() error { return e.Err }

// Read selects and reads the policy for a kernel whose maximum version is kernelMax, the way
// libselinux does: open policy.N from kernelMax down while the file does not exist (any
// other open error stops the search). When no such file exists, newer files are tried from
// the lowest up, each through Fit. Read is the selection; with Admit it is the one
// loadability answer the bring-up loads and `nsinit status` reports (boot's observePolicy).
func Read(dir string, kernelMax int) (*Image, error) {
	start := time.Now()
	present, dirErr := versions(dir)
	if dirErr != nil {
		return nil, &NoPolicyError{Dir: dir, KernelMax: kernelMax, DirErr: dirErr}
	}
	var dangling []string // listed in dir but not there to open: dangling symlinks
	for v := kernelMax; v >= policydb.MinVersion; v-- {
		img, err := ReadFile(filepath.Join(dir, "policy."+strconv.Itoa(v)), v)
		if errors.Is(err, os.ErrNotExist) {
			if slices.Contains(present, v) {
				dangling = append(dangling, err.Error())
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if img.Header.Version > kernelMax {
			return nil, &InvalidError{Path: img.Path, Err: fmt.Errorf("its header says version %d but the kernel supports ≤ %d", img.Header.Version, kernelMax)}
		}
		img.ReadTime, img.Newest = time.Since(start), newest(present, v)
		return img, nil
	}
	noPolicy := &NoPolicyError{Dir: dir, KernelMax: kernelMax, Present: present, Refusals: dangling}
	for _, v := range present {
		if v <= kernelMax {
			continue
		}
		img, err := ReadFile(filepath.Join(dir, "policy."+strconv.Itoa(v)), v)
		if err != nil {
			noPolicy.Refusals = append(noPolicy.Refusals, err.Error())
			continue
		}
		err = Fit(img, kernelMax)
		var refused *policydb.RefusedError
		switch {
		case errors.As(err, &refused):
			// Not provably safe: say why and how to fix it, and keep searching (libselinux
			// goes on to the next file when libsepol cannot write the older version).
			noPolicy.Refusals = append(noPolicy.Refusals, fmt.Sprintf("%s (version %d) cannot be loaded: %v\n%s", img.Path, img.Header.Version, err, refused.Fixes(img.Path)))
			continue
		case err != nil:
			// A malformed image stops the search, as a libsepol parse failure does.
			return nil, err
		}
		img.ReadTime, img.Newest = time.Since(start), newest(present, v)
		return img, nil
	}
	return nil, noPolicy
}

// Fit makes img loadable by a kernel whose maximum version is kernelMax: an image at or
// below it is left alone; a newer one is downgraded in memory when policydb proves nothing
// is lost (Data, Header and Downgraded are then updated). A refusal wraps
// *policydb.RefusedError; a malformed image is an *InvalidError. `nsinit policy inspect`
// judges single files with it, so that it and the bring-up cannot disagree.
func Fit(img *Image, kernelMax int) error {
	if img.Header.Version <= kernelMax {
		return nil
	}
	data, err := policydb.Downgrade(img.Data, kernelMax)
	var refused *policydb.RefusedError
	switch {
	case errors.As(err, &refused):
		return err
	case err != nil:
		return &InvalidError{Path: img.Path, Err: err}
	}
	h, err := policydb.ParseHeader(data)
	if err != nil || h.Version != kernelMax {
		return &InvalidError{Path: img.Path, Err: fmt.Errorf("downgrade produced an invalid image (version %d, %v)", h.Version, err)}
	}
	img.Data, img.Header, img.Downgraded, img.admitted = data, h, true, false
	return nil
}

// ReadImage reads a policy file whole through imagefile, refusing before reading what
// cannot be a policy: a FIFO, a device, a directory, a file larger than MaxImageSize. The
// errors are imagefile's, naming the path (a missing file: fs.ErrNotExist).
func ReadImage(path string) ([]byte, error) {
	return imagefile.ReadFile(path, MaxImageSize)
}

// ReadFile reads and validates the header of one policy file named for version v (0: the
// name says nothing).
func ReadFile(path string, v int) (*Image, error) {
	data, err := ReadImage(path)
	if err != nil {
		return nil, err
	}
	h, err := policydb.ParseHeader(data)
	if err != nil {
		return nil, &InvalidError{Path: path, Err: err}
	}
	img := &Image{Path: path, FileVersion: v, FileBytes: len(data), Header: h, Data: data}
	if v != 0 && h.Version != v {
		img.Warnings = append(img.Warnings, fmt.Sprintf("%s: file name says version %d, header says %d (the header is what the kernel reads)", path, v, h.Version))
	}
	return img, nil
}

// newest is the highest of the listed versions and v, the one opened (which a listing
// taken just before may lack).
func newest(present []int, v int) int {
	if n := len(present); n > 0 && present[n-1] > v {
		return present[n-1]
	}
	return v
}

// Likely returns the file Read picks in dir when the kernel takes the newest version there
// (a current kernel and policy: the usual case), or "" when dir lists no policy.N. The boot
// prefetches it before the kernel's maximum is known.
func Likely(dir string) string {
	present, err := versions(dir)
	if err != nil || len(present) == 0 {
		return ""
	}
	return filepath.Join(dir, "policy."+strconv.Itoa(present[len(present)-1]))
}

// versions lists the N of every policy.N in dir, ascending. (os.ReadDir opens dir with
// O_DIRECTORY: a FIFO or a device at its path is refused at once, ENOTDIR.)
func versions(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var vs []int
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), "policy.")
		if !ok {
			continue
		}
		if v, err := strconv.Atoi(s); err == nil && v >= 0 && strconv.Itoa(v) == s {
			vs = append(vs, v)
		}
	}
	sort.Ints(vs)
	return vs, nil
}

// Loader is where an image goes: *selinuxfs.FS in production.
type Loader interface {
	Load(image []byte) error
}

// LoadError means the kernel refused the image.
type LoadError struct {
	Path string
	Err  error
}

func (e *LoadError) Error() string {
	msg := fmt.Sprintf("kernel refused policy %s: %v", e.Path, e.Err)
	if errors.Is(e.Err, os.ErrInvalid) || strings.Contains(e.Err.Error(), "invalid argument") {
		msg += " (the kernel log says why: dmesg | grep -i selinux)"
	}
	return msg
}
func (e *LoadError) Unwrap() error { return e.Err }

// Admit is the admission check: the complete structural walk of policydb.Analyze over
// img.Data, exactly the bytes Load writes (after any downgrade). A refusal is an
// *InvalidError naming the file, the section and the byte offset (a *policydb.FormatError or
// *policydb.HeaderError inside). `nsinit policy inspect` reports it.
func Admit(img *Image) error {
	_, err := policydb.Analyze(img.Data)
	switch {
	case err == nil:
		img.admitted = true
		return nil
	case img.Header.Version < policydb.VersionCompFtrans:
		return &InvalidError{Path: img.Path, Err: fmt.Errorf("refused before the load: %w\n%s", err, policydb.StandardFixes(img.Path, policydb.VersionCompFtrans))}
	}
	return &InvalidError{Path: img.Path, Err: fmt.Errorf("refused before the load: %w", err)}
}

// Load checks img (Admit, unless Read or Admit passed these very bytes already) and writes
// it to l in one write; it returns how long the kernel took. Nothing reaches the kernel
// that Admit refused.
func Load(l Loader, img *Image) (time.Duration, error) {
	if !img.admitted {
		if err := Admit(img); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	if err := l.Load(img.Data); err != nil {
		return time.Since(start), &LoadError{Path: img.Path, Err: err}
	}
	return time.Since(start), nil
}
