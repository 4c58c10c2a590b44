#!/bin/bash
# bench.sh — nsinit against the fastest SELinux labellers, side by side, in one run.
#
#   scripts/bench/bench.sh            (make bench provisions what it needs first)
#
# Peers: libselinux/setfiles 3.4 (Debian bookworm, installed), 3.8 (Debian trixie) and 3.11
# (Debian sid), the last two unpacked in $CACHE/trixie-bench and $CACHE/sid-bench by
# `scripts/provision.sh CACHE trixie_bench sid_bench` and run through their suite's own
# loader, plus the syscall floor (scripts/bench/floor). Inputs: Debian's file_contexts (a text
# copy: file_contexts, .homedirs, .subs_dist; the installed one with its .bin files too for the
# load time), the debootstrap trees $CACHE/minbase and $CACHE/bigtree (step bigtree), and keys
# generated to hit every spec of file_contexts.
#
# ROUNDS rounds; within a round every contender runs once, back to back, in an order that
# rotates from round to round; the table gives medians and ranges, and each target ratio is
# computed within each round and summarised by its median. Then relabel max RSS on generated
# trees of 10k-1M objects, system calls per object (perf stat tracepoints, strace -c -f) and
# pprof CPU profiles. See docs/performance.md. Commands are built as words: the cache path must
# not contain white space.
#
# Environment: NSINIT_CACHE (default <repo>/.cache), ROUNDS (7), LOOKUP_SECS (0.5: minimum
# time of one lookup measurement), PROFILE_RUNS (8), SCALE (1: relabel generated trees of 10k,
# 100k and 1M objects for max RSS; 0: skip), NSINIT_BENCH_REV (build nsinit from this git
# revision, e.g. HEAD, instead of the working tree), BOOT_KERNELS (space-separated kernel names
# for the boot table, test/vm's linux6 (Debian 12's 6.1) and linux7 (sid's 7.x); default both),
# BOOT_ROUNDS (5; 0 skips the boot table), PARTS (the measurements to run, default
# "lookups relabel scale calls profiles boot"; e.g. PARTS=relabel while working on the relabel
# engine: the set-up and the answer and label checks always run).
set -euo pipefail

T_START=$(date +%s)
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${NSINIT_CACHE:-$REPO/.cache}
ROUNDS=${ROUNDS:-7}
BOOT_ROUNDS=${BOOT_ROUNDS:-5}
BOOT_KERNELS=${BOOT_KERNELS:-linux6 linux7}
LOOKUP_SECS=${LOOKUP_SECS:-0.5}
PROFILE_RUNS=${PROFILE_RUNS:-8}
SCALE=${SCALE:-1}
PARTS=" ${PARTS:-lookups relabel scale calls profiles boot} "
part() { [[ $PARTS == *" $1 "* ]]; }
W=$CACHE/bench
export PATH=/usr/local/go/bin:$PATH

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

TX=$CACHE/trixie-bench
TLIB=$TX/usr/lib/x86_64-linux-gnu
TLD=$TLIB/ld-linux-x86-64.so.2
SX=$CACHE/sid-bench
SLIB=$SX/usr/lib/x86_64-linux-gnu
SLD=$SLIB/ld-linux-x86-64.so.2
POL=$CACHE/policy/etc/selinux/default
for f in "$TX/.done" "$SX/.done" "$CACHE/bigtree/.done" "$CACHE/minbase/.done" "$POL/contexts/files/file_contexts"; do
	[ -e "$f" ] || die "$f missing: run scripts/provision.sh $CACHE apt policy minbase trixie_bench sid_bench bigtree (make bench does)"
done
for t in gcc strace setfiles; do command -v $t >/dev/null || die "$t not installed"; done
[ -e /usr/include/selinux/label.h ] || die "libselinux1-dev not installed"
[ "$(id -u)" = 0 ] || die "run as root (security.* xattrs)"

case $W in *[[:space:]]*) die "the cache path $W contains white space" ;; esac
rm -rf "$W" && mkdir -p "$W/bin" "$W/trees" "$W/keys" "$W/prof"

# --- build -----------------------------------------------------------------------------
SRC=$REPO
if [ -n "${NSINIT_BENCH_REV:-}" ]; then
	SRC=$W/src && mkdir -p "$SRC"
	git -C "$REPO" archive "$NSINIT_BENCH_REV" | tar -x -C "$SRC"
fi
REV=$(git -C "$REPO" rev-parse --short "${NSINIT_BENCH_REV:-HEAD}")
[ -z "${NSINIT_BENCH_REV:-}" ] && ! git -C "$REPO" diff --quiet HEAD -- cmd internal && REV="$REV+worktree"
log "building (nsinit $REV)"
(cd "$SRC" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$W/bin/nsinit" ./cmd/nsinit &&
	CGO_ENABLED=0 go build -trimpath -o "$W/bin/" ./scripts/bench/godrv ./scripts/bench/floor ./scripts/bench/benchtool)
gcc -O2 -Wall -o "$W/bin/lookup-3.4" "$SRC/internal/fcontext/testdata/oracle/selabel_lookup.c" -lselinux
# Trixie's headers and libselinux.so.1; its glibc symbol versions resolve at run time under
# trixie's loader, so the link does not check them against bookworm's libc.
gcc -O2 -Wall -I"$TX/usr/include" -o "$W/bin/lookup-3.8" "$SRC/internal/fcontext/testdata/oracle/selabel_lookup.c" \
	"$TLIB/libselinux.so.1" -Wl,--allow-shlib-undefined
gcc -O2 -Wall -I"$SX/usr/include" -o "$W/bin/lookup-3.11" "$SRC/internal/fcontext/testdata/oracle/selabel_lookup.c" \
	"$SLIB/libselinux.so.1" -Wl,--allow-shlib-undefined
NSINIT=$W/bin/nsinit BT=$W/bin/benchtool FLOOR=$W/bin/floor GODRV=$W/bin/godrv
L34=("$W/bin/lookup-3.4")
L38=("$TLD" --library-path "$TLIB" "$W/bin/lookup-3.8")
SF34=(/usr/sbin/setfiles)
SF38=("$TLD" --library-path "$TLIB" "$TX/usr/sbin/setfiles")
L311=("$SLD" --library-path "$SLIB" "$W/bin/lookup-3.11")
SF311=("$SLD" --library-path "$SLIB" "$SX/usr/sbin/setfiles")
V34=$(dpkg-query -W -f='${Package} ${Version}\n' libselinux1 policycoreutils | paste -sd,) V38=$(cat "$TX/versions") V311=$(cat "$SX/versions")

# --- inputs ----------------------------------------------------------------------------
# A text-only copy of Debian's file_contexts, so that every engine parses the same input
# (3.4 and nsinit would pick the .bin files, 3.8 ignores 3.4's .bin format and reads the text).
FC=$W/policy/contexts/files/file_contexts
mkdir -p "$W/policy/contexts/files"
cp -p "$POL/contexts/files/file_contexts" "$POL/contexts/files/file_contexts.homedirs" \
	"$POL/contexts/files/file_contexts.subs_dist" "$W/policy/contexts/files/"
cp -p "$POL/contexts/customizable_types" "$W/policy/contexts/" 2>/dev/null || true
FCI=$POL/contexts/files/file_contexts # installed, with .bin
log "copying the trees"
for t in minbase bigtree; do
	mkdir "$W/trees/$t" && cp -a "$CACHE/$t/." "$W/trees/$t"
	rm -f "$W/trees/$t/.done"
	"$FLOOR" -strip "$W/trees/$t" >/dev/null
	"$BT" keys "$W/trees/$t" > "$W/keys/$t.keys"
done
"$BT" speckeys "$FC" "$FC.homedirs" > "$W/keys/spec.keys"
N_minbase=$(wc -l < "$W/keys/minbase.keys") N_bigtree=$(wc -l < "$W/keys/bigtree.keys") N_spec=$(wc -l < "$W/keys/spec.keys")

# Same answers? (untimed) nsinit follows 3.4-3.7 here (--libselinux auto: bookworm's); 3.8.1
# differs on a few documented specs, 3.11 on mode-0 lookups of paths with exact specs of
# several types, and nsinit --libselinux 3.11 follows 3.11.
for s in minbase bigtree spec; do
	"${L34[@]}" "$FC" < "$W/keys/$s.keys" > "$W/keys/$s.out-3.4"
	"${L38[@]}" "$FC" < "$W/keys/$s.keys" > "$W/keys/$s.out-3.8"
	"${L311[@]}" "$FC" < "$W/keys/$s.keys" > "$W/keys/$s.out-3.11"
	"$NSINIT" lookup --file-contexts "$FC" --libselinux 3.4 --batch < "$W/keys/$s.keys" > "$W/keys/$s.out-nsinit"
	"$NSINIT" lookup --file-contexts "$FC" --libselinux 3.11 --batch < "$W/keys/$s.keys" > "$W/keys/$s.out-nsinit-3.11"
	d34=$(diff "$W/keys/$s.out-3.4" "$W/keys/$s.out-nsinit" | grep -c '^>' || true)
	d38=$(diff "$W/keys/$s.out-3.8" "$W/keys/$s.out-nsinit" | grep -c '^>' || true)
	d311=$(diff "$W/keys/$s.out-3.11" "$W/keys/$s.out-nsinit" | grep -c '^>' || true)
	d311r=$(diff "$W/keys/$s.out-3.11" "$W/keys/$s.out-nsinit-3.11" | grep -c '^>' || true)
	eval "D34_$s=$d34 D38_$s=$d38 D311_$s=$d311 D311R_$s=$d311r"
done

# The floor rows: "floor" is the issue's floor (getxattrat + setxattrat per object, fd-relative),
# "floor -abs" the same by absolute path; "floor -stat" adds the statx per object a labeller
# needs (hard links, mounts), "floor -stat -create" then skips the read on unlabelled objects
# (setxattr XATTR_CREATE first): what nsinit could reach with both (informational rows).
RELABELERS=("setfiles 3.4 -T 0" "setfiles 3.8 -T 1" "setfiles 3.8 -T 0" "setfiles 3.11 -T 1" "setfiles 3.11 -T 0" "nsinit relabel" "floor" "floor -abs" "floor -stat" "floor -stat -create")
relabel_cmd() { # TOOL ROOT
	case $1 in
	"setfiles 3.4 -T 0") echo "${SF34[*]} -F -T 0 -r $2 $FC $2" ;;
	"setfiles 3.8 -T 1") echo "${SF38[*]} -F -T 1 -r $2 $FC $2" ;;
	"setfiles 3.8 -T 0") echo "${SF38[*]} -F -T 0 -r $2 $FC $2" ;;
	"setfiles 3.11 -T 1") echo "${SF311[*]} -F -T 1 -r $2 $FC $2" ;;
	"setfiles 3.11 -T 0") echo "${SF311[*]} -F -T 0 -r $2 $FC $2" ;;
	"nsinit relabel") echo "$NSINIT relabel --log-level warn --force --root $2 --file-contexts $FC" ;;
	floor) echo "$FLOOR $2" ;;
	"floor -abs") echo "$FLOOR -abs $2" ;;
	"floor -stat") echo "$FLOOR -stat $2" ;;
	"floor -stat -create") echo "$FLOOR -stat -create $2" ;;
	esac
}

# Same labels? (untimed) Every tree relabelled by nsinit and by setfiles, labels compared.
labels_by() { # TOOL TREE
	"$FLOOR" -strip "$W/trees/$2" >/dev/null
	# shellcheck disable=SC2046
	$(relabel_cmd "$1" "$W/trees/$2") >/dev/null 2>&1 || die "$1 on $2 failed"
	"$BT" labels "$W/trees/$2"
}
LABEL_DIFFS=""
for t in minbase bigtree; do
	labels_by "nsinit relabel" $t > "$W/keys/$t.labels-nsinit"
	tools=("setfiles 3.8 -T 1" "setfiles 3.11 -T 1")
	[ $t = minbase ] && tools+=("setfiles 3.4 -T 0")
	for tool in "${tools[@]}"; do
		labels_by "$tool" $t > "$W/keys/$t.labels-other"
		LABEL_DIFFS="$LABEL_DIFFS ${tool% -T*} on $t: $(diff "$W/keys/$t.labels-other" "$W/keys/$t.labels-nsinit" | grep -c '^>' || true);"
	done
done

# --- measurement helpers -----------------------------------------------------------------
RES=$W/results.tsv
: > "$RES"
ROUND=0
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$1" "$2" "$3" "$4" >> "$RES"; }
kv() { sed -n "s/.*\<$2=\([^ ]*\).*/\1/p" <<< "$1"; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", a/b}'; }
# rotate R WORD...: the words rotated left by R.
rotate() { local r=$1; shift; local n=$#; local a=("$@"); for ((i = 0; i < n; i++)); do echo "${a[$(((i + r) % n))]}"; done; }
quiet38() { grep -v 'Old compiled fcontext format' >&2 || true; }

lookup_driver() { # IMPL FC LOADS SECS < keys
	case $1 in
	"libselinux 3.4") "${L34[@]}" "$2" "$3" "$4" ;;
	"libselinux 3.8") "${L38[@]}" "$2" "$3" "$4" 2> >(quiet38) ;;
	"libselinux 3.11") "${L311[@]}" "$2" "$3" "$4" 2> >(quiet38) ;;
	nsinit) "$GODRV" lookup "$2" "$3" "$4" ;;
	esac
}
IMPLS=("libselinux 3.4" "libselinux 3.8" "libselinux 3.11" nsinit)

bench_lookups() {
	local set impl out
	for set in minbase bigtree spec; do
		while read -r impl; do
			out=$(lookup_driver "$impl" "$FC" 1 "$LOOKUP_SECS" < "$W/keys/$set.keys")
			rec "lookups/s: $set keys" "$impl" "lookups/s" "$(kv "$out" lookups_per_sec)"
		done < <(rotate "$((ROUND - 1))" "${IMPLS[@]}")
	done
	while read -r impl; do
		out=$(lookup_driver "$impl" "$FC" 5 0 < /dev/null)
		rec "load: file_contexts text" "$impl" "load_ms" "$(kv "$out" load_ms)"
		rec "load: file_contexts text" "$impl" "first_load_ms" "$(kv "$out" first_load_ms)"
		rec "load: file_contexts text" "$impl" "maxrss_mb" "$(mb "$(kv "$out" maxrss_kb)")"
		out=$(lookup_driver "$impl" "$FCI" 5 0 < /dev/null)
		rec "load: installed (.bin where picked)" "$impl" "load_ms" "$(kv "$out" load_ms)"
		rec "load: installed (.bin where picked)" "$impl" "first_load_ms" "$(kv "$out" first_load_ms)"
		rec "load: installed (.bin where picked)" "$impl" "maxrss_mb" "$(mb "$(kv "$out" maxrss_kb)")"
	done < <(rotate "$((ROUND - 1))" "${IMPLS[@]}")
	# Whole processes as a tool runs them: start, load, answer every bigtree key on stdout.
	while read -r impl; do
		case $impl in
		"libselinux 3.4") out=$("$BT" measure -in "$W/keys/bigtree.keys" -- "${L34[@]}" "$FC") ;;
		"libselinux 3.8") out=$("$BT" measure -in "$W/keys/bigtree.keys" -- "${L38[@]}" "$FC") ;;
		"libselinux 3.11") out=$("$BT" measure -in "$W/keys/bigtree.keys" -- "${L311[@]}" "$FC") ;;
		nsinit) out=$("$BT" measure -in "$W/keys/bigtree.keys" -- "$NSINIT" lookup --file-contexts "$FC" --batch) ;;
		esac
		[ "$(kv "$out" status)" = 0 ] || die "$impl batch failed: $out"
		rec "batch process: bigtree keys in, answers out" "$impl" "wall_s" "$(kv "$out" wall_s)"
		rec "batch process: bigtree keys in, answers out" "$impl" "lines/s" "$(div "$N_bigtree" "$(kv "$out" wall_s)")"
		rec "batch process: bigtree keys in, answers out" "$impl" "maxrss_mb" "$(mb "$(kv "$out" maxrss_kb)")"
	done < <(rotate "$((ROUND - 1))" "${IMPLS[@]}")
}

bench_relabel() {
	local t tool out n
	for t in minbase bigtree; do
		eval "n=\$N_$t"
		while read -r tool; do
			"$FLOOR" -strip "$W/trees/$t" >/dev/null
			# shellcheck disable=SC2046 # the command line is split on purpose (no spaces in paths)
			out=$("$BT" measure -- $(relabel_cmd "$tool" "$W/trees/$t"))
			[ "$(kv "$out" status)" = 0 ] || die "$tool on $t failed: $out"
			rec "relabel: $t ($n objects, labels stripped)" "$tool" "wall_s" "$(kv "$out" wall_s)"
			rec "relabel: $t ($n objects, labels stripped)" "$tool" "cpu_s" "$(kv "$out" cpu_s)"
			rec "relabel: $t ($n objects, labels stripped)" "$tool" "maxrss_mb" "$(mb "$(kv "$out" maxrss_kb)")"
			rec "relabel: $t ($n objects, labels stripped)" "$tool" "objects/s" "$(div "$n" "$(kv "$out" wall_s)")"
		done < <(rotate "$((ROUND - 1))" "${RELABELERS[@]}")
	done
}

# --- rounds --------------------------------------------------------------------------------
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	log "round $ROUND/$ROUNDS"
	part lookups && bench_lookups
	part relabel && bench_relabel
done

# --- scale: memory as the tree grows (issue 7): one run each on generated trees -----------------
if [ "$SCALE" = 1 ] && part scale; then
	ROUND=1
	for n in 10000 100000 1000000; do
		log "scale: $n objects"
		"$BT" gen "$W/scale/$n" $n
		m=$(find "$W/scale/$n" | wc -l)
		for tool in "nsinit relabel" floor "setfiles 3.8 -T 1"; do
			"$FLOOR" -strip "$W/scale/$n" >/dev/null
			# shellcheck disable=SC2046
			out=$("$BT" measure -- $(relabel_cmd "$tool" "$W/scale/$n"))
			[ "$(kv "$out" status)" = 0 ] || die "$tool on scale/$n failed: $out"
			rec "scale: generated trees, one run each" "$tool, $m objects" "wall_s" "$(kv "$out" wall_s)"
			rec "scale: generated trees, one run each" "$tool, $m objects" "maxrss_mb" "$(mb "$(kv "$out" maxrss_kb)")"
		done
		rm -rf "$W/scale/$n"
	done
fi

S_MB="relabel: minbase ($N_minbase objects, labels stripped)"
S_BT="relabel: bigtree ($N_bigtree objects, labels stripped)"
SF38MIN="min(setfiles 3.8 -T 1,setfiles 3.8 -T 0)"
SFT0MIN="min(setfiles 3.8 -T 0,setfiles 3.11 -T 0)"
S_SC="scale: generated trees, one run each"
M_SC=$(sed -n "s/^1\t$S_SC\tnsinit relabel, \([0-9]*\) objects\t.*/\1/p" "$RES" | sort -n | tail -1)
cat > "$W/ratios" <<EOF
lookups minbase: nsinit / libselinux 3.8 (issue 7)|lookups/s: minbase keys|lookups/s|nsinit|libselinux 3.8|>=|3
lookups bigtree: nsinit / libselinux 3.8 (issue 7)|lookups/s: bigtree keys|lookups/s|nsinit|libselinux 3.8|>=|3
lookups spec keys: nsinit / libselinux 3.8 (info)|lookups/s: spec keys|lookups/s|nsinit|libselinux 3.8|>=|3
lookups minbase: nsinit / libselinux 3.11 (issue 15)|lookups/s: minbase keys|lookups/s|nsinit|libselinux 3.11|>=|3
lookups bigtree: nsinit / libselinux 3.11 (issue 15)|lookups/s: bigtree keys|lookups/s|nsinit|libselinux 3.11|>=|3
batch bigtree: faster libselinux 3.8/3.11 / nsinit (issue 15)|batch process: bigtree keys in, answers out|wall_s|min(libselinux 3.8,libselinux 3.11)|nsinit|>=|3
lookups minbase: nsinit / libselinux 3.4 (issue 3)|lookups/s: minbase keys|lookups/s|nsinit|libselinux 3.4|>=|20
lookups bigtree: nsinit / libselinux 3.4 (issue 3)|lookups/s: bigtree keys|lookups/s|nsinit|libselinux 3.4|>=|20
load text: nsinit / libselinux 3.8 (issue 7)|load: file_contexts text|load_ms|nsinit|libselinux 3.8|<=|1
load text, first in process: nsinit / libselinux 3.8 (issue 7)|load: file_contexts text|first_load_ms|nsinit|libselinux 3.8|<=|1
load text: nsinit / libselinux 3.4 (issue 3)|load: file_contexts text|load_ms|nsinit|libselinux 3.4|<=|2
load installed: nsinit / libselinux 3.4 (issue 3)|load: installed (.bin where picked)|load_ms|nsinit|libselinux 3.4|<=|2
relabel minbase: faster setfiles 3.8 / nsinit (issue 7)|$S_MB|wall_s|$SF38MIN|nsinit relabel|>=|2
relabel bigtree: faster setfiles 3.8 / nsinit (issue 7)|$S_BT|wall_s|$SF38MIN|nsinit relabel|>=|2
relabel minbase: faster setfiles 3.8/3.11 -T 0 / nsinit (issue 15)|$S_MB|wall_s|$SFT0MIN|nsinit relabel|>=|4
relabel bigtree: faster setfiles 3.8/3.11 -T 0 / nsinit (issue 15)|$S_BT|wall_s|$SFT0MIN|nsinit relabel|>=|4
relabel minbase: nsinit / faster floor (issue 15)|$S_MB|wall_s|nsinit relabel|min(floor,floor -abs)|<=|1.1
relabel bigtree: nsinit / faster floor (issue 15)|$S_BT|wall_s|nsinit relabel|min(floor,floor -abs)|<=|1.1
relabel minbase: nsinit / floor -stat -create (info: a floor making nsinit's calls)|$S_MB|wall_s|nsinit relabel|floor -stat -create|<=|1.5
relabel bigtree: nsinit / floor -stat -create (info: a floor making nsinit's calls)|$S_BT|wall_s|nsinit relabel|floor -stat -create|<=|1.5
relabel minbase: setfiles 3.4 -T 0 / nsinit (issue 4)|$S_MB|wall_s|setfiles 3.4 -T 0|nsinit relabel|>=|10
relabel bigtree: setfiles 3.4 -T 0 / nsinit (issue 4)|$S_BT|wall_s|setfiles 3.4 -T 0|nsinit relabel|>=|10
relabel minbase RSS: nsinit / smaller setfiles 3.8 (issue 7)|$S_MB|maxrss_mb|nsinit relabel|$SF38MIN|<=|1
relabel bigtree RSS: nsinit / smaller setfiles 3.8 (issue 7)|$S_BT|maxrss_mb|nsinit relabel|$SF38MIN|<=|1
EOF
[ -n "$M_SC" ] && cat >> "$W/ratios" <<EOF
scale, $M_SC objects: nsinit / floor (issue 15)|$S_SC|wall_s|nsinit relabel, $M_SC objects|floor, $M_SC objects|<=|1.15
scale, $M_SC objects: nsinit max RSS, MB (issue 15)|$S_SC|maxrss_mb|nsinit relabel, $M_SC objects|1|<=|16
EOF

# --- where the time goes -------------------------------------------------------------------
# System calls per object: perf's syscall tracepoints count without slowing the process (strace
# does, and so inflates the Go runtime's own futex/nanosleep calls); strace -c -f as well, as
# the classic tool (strace 6.1 does not count getxattrat/setxattrat: its floor runs -abs).
SYSCALLS="statx newfstatat lgetxattr lsetxattr fgetxattr fsetxattr getxattrat setxattrat getdents64 openat openat2 close fchdir futex nanosleep"
EVENTS=raw_syscalls:sys_enter$(for c in $SYSCALLS; do printf ',syscalls:sys_enter_%s' "$c"; done)
HAVE_PERF=0
if part calls; then
	perf stat -x, -o /dev/null -e "$EVENTS" true 2>/dev/null && HAVE_PERF=1
	log "system call counts (perf stat, strace -c -f)"
	for t in minbase bigtree; do
		for tool in "nsinit relabel" "setfiles 3.8 -T 1" "setfiles 3.11 -T 1" floor; do
			name=$(tr ' ' _ <<< "$tool")
			"$FLOOR" -strip "$W/trees/$t" >/dev/null
			# shellcheck disable=SC2046
			[ $HAVE_PERF = 1 ] && perf stat -x, -o "$W/prof/perf.$t.$name.csv" -e "$EVENTS" $(relabel_cmd "$tool" "$W/trees/$t") >/dev/null 2>&1
			if [ $t = minbase ]; then
				[ "$tool" = floor ] && tool="floor -abs" name=floor_-abs
				"$FLOOR" -strip "$W/trees/$t" >/dev/null
				# shellcheck disable=SC2046
				strace -c -f -o "$W/prof/strace.$name.txt" $(relabel_cmd "$tool" "$W/trees/$t") >/dev/null 2>&1
			fi
		done
	done
fi
if part profiles; then
	log "pprof profiles (bigtree relabel x$PROFILE_RUNS, bigtree lookups 3 s, 200 loads)"
	"$GODRV" relabel -cpuprofile "$W/prof/relabel.pprof" -runs "$PROFILE_RUNS" "$W/trees/bigtree" "$FC" > "$W/prof/relabel.runs"
	"$GODRV" lookup -cpuprofile "$W/prof/lookup.pprof" "$FC" 1 3 < "$W/keys/bigtree.keys" > "$W/prof/lookup.run"
	"$GODRV" lookup -cpuprofile "$W/prof/load.pprof" "$FC" 200 0 < /dev/null > "$W/prof/load.run"
fi

# The boot table: nsinit as PID 1 under qemu, per step, own time against the kernel's load.
: > "$W/boot.txt"
if part boot && [ "$BOOT_ROUNDS" -gt 0 ]; then
	for k in $BOOT_KERNELS; do
		log "boot table ($k, $BOOT_ROUNDS rounds)"
		(cd "$SRC" && NSINIT_CACHE=$CACHE go run ./test/vm/cmd/boottable -nsinit "$NSINIT" -kernel "$k" -rounds "$BOOT_ROUNDS") >> "$W/boot.txt" ||
			log "boot table for $k failed (see $W/boot.txt)"
	done
fi

# --- report --------------------------------------------------------------------------------
{
	echo "# nsinit benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "nsinit $REV; libselinux/setfiles 3.4 = bookworm $V34, 3.8 = trixie $V38, 3.11 = sid $V311 (3.8, 3.11: their own loader); $ROUNDS rounds, order rotated per round"
	echo "keys: minbase $N_minbase, bigtree $N_bigtree, spec (every spec of file_contexts + .homedirs, aliases) $N_spec"
	echo "answers differing from nsinit (batch, text file_contexts): 3.4: minbase $D34_minbase, bigtree $D34_bigtree, spec $D34_spec;" \
		"3.8: minbase $D38_minbase, bigtree $D38_bigtree, spec $D38_spec (3.8.1's documented differences);" \
		"3.11: minbase $D311_minbase, bigtree $D311_bigtree, spec $D311_spec (3.11's rule for exact specs of several types;" \
		"nsinit --libselinux 3.11 differs from 3.11 on minbase $D311R_minbase, bigtree $D311R_bigtree, spec $D311R_spec)"
	echo "objects labelled differently from nsinit relabel --force (stripped trees, every object's security.selinux):$LABEL_DIFFS"
	"$BT" table -ratios "$W/ratios" "$RES"
	echo
	cat "$W/boot.txt"
	if part calls && [ $HAVE_PERF = 1 ]; then
		for t in minbase bigtree; do
			eval "n=\$N_$t"
			echo "## system calls per object, relabel of $t ($n objects; perf stat syscall tracepoints, untraced run)"
			for name in nsinit_relabel setfiles_3.8_-T_1 setfiles_3.11_-T_1 floor; do
				printf '%-18s %s/object:' "$(tr _ ' ' <<< "$name")" \
					"$(awk -F, -v N="$n" '$3 == "raw_syscalls:sys_enter" { printf "%.2f", $1 / N }' "$W/prof/perf.$t.$name.csv")"
				awk -F, '$3 ~ /^syscalls:sys_enter_/ && $1 + 0 > 0 { sub("syscalls:sys_enter_", "", $3); print $1, $3 }' \
					"$W/prof/perf.$t.$name.csv" | sort -nr | awk -v N="$n" '{ printf " %s %.2f", $2, $1 / N } END { printf "\n" }'
			done
			echo
		done
	fi
	if part calls; then
		echo "## system calls per object, relabel of minbase ($N_minbase objects; strace -c -f: slows the process, inflating runtime futex/nanosleep; strace 6.1 leaves getxattrat/setxattrat out; top 8)"
		for name in nsinit_relabel setfiles_3.8_-T_1 setfiles_3.11_-T_1 floor_-abs; do
			f=$W/prof/strace.$name.txt
			printf '%-18s %s/object:' "$(tr _ ' ' <<< "$name")" "$(awk -v N="$N_minbase" '$NF == "total" { printf "%.2f", $4 / N }' "$f")"
			awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $4, $NF }' "$f" | sort -nr | head -8 |
				awk -v N="$N_minbase" '{ printf " %s %.2f", $2, $1 / N } END { printf "\n" }'
		done
		echo
	fi
	if part profiles; then
		echo "## pprof: nsinit relabel engine, bigtree x$PROFILE_RUNS (phase=relabel only), top 20 flat"
		go tool pprof -top -nodecount=20 -tagfocus=phase=relabel "$GODRV" "$W/prof/relabel.pprof" 2>/dev/null | sed -n '/flat%/,$p'
		echo
		echo "## pprof: nsinit lookups, bigtree keys for 3 s ($(cat "$W/prof/lookup.run")), top 20 flat"
		go tool pprof -top -nodecount=20 "$GODRV" "$W/prof/lookup.pprof" 2>/dev/null | sed -n '/flat%/,$p'
		echo
		echo "## pprof: nsinit file_contexts load (text) x200 ($(cat "$W/prof/load.run")), top 15 cumulative"
		go tool pprof -top -cum -nodecount=15 "$GODRV" "$W/prof/load.pprof" 2>/dev/null | sed -n '/flat%/,$p'
		echo
	fi
	echo "(raw: $RES, $W/prof/; make bench took $(($(date +%s) - T_START)) s)"
} | tee "$W/report.txt"
