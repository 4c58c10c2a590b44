#!/bin/sh
# provision.sh — fetch and build everything the test suite and the demo need, into a
# git-ignored cache directory. Idempotent: each step leaves a stamp and is skipped next time.
#
#   scripts/provision.sh [CACHE_DIR] [STEP...]
#
# Steps: apt kernel kernel7 policy minbase systemd trixie sid_libselinux sid_policy trixie_policy
# trixie_bench (default: these; trixie_bench is also the 3.8 oracle of `relabel -v`), and for
# `make bench` only: sid_bench bigtree. Layout of CACHE_DIR (default .cache):
#   kernel/vmlinuz            Debian bookworm's linux-image-*-amd64 kernel (SELinux built in)
#   kernel/modules/           its lib/modules/<version> tree (virtio, ext4 are modules)
#   kernel7/vmlinuz           Debian sid's Linux 7.x (linux-image-amd64 -> linux-image-V, an empty
#                             package depending on linux-binary-V, linux-modules-V, linux-base-V),
#                             unpacked from those three, not installed
#   kernel7/modules/          its usr/lib/modules/V tree: config, modules.builtin{,.modinfo},
#                             kernel/**.ko.xz (virtio is built in; ext4 and its helpers are modules)
#   kernel7/package           the packages' names and version
#   policy/etc/selinux/default/   Debian's selinux-policy-default built with semodule:
#                                 policy/policy.33, contexts/files/file_contexts{,.bin,...}
#   minbase/                  a debootstrap --variant=minbase bookworm tree (conformance input,
#                             and the root of test/oci's application image)
#   minbase-systemd/          the same plus systemd, systemd-sysv, dbus: the root of test/oci's
#                             "nsinit before systemd" image
#   trixie/                   Debian 13's checkpolicy, secilc, libsepol2 3.8.1 (max policy 34) and
#                             libc6, unpacked (not installed); sid/ below it holds sid's
#                             checkpolicy/secilc/libsepol2 3.11 (max 35). Run them through
#                             trixie's loader: trixie/bin/checkpolicy-34, trixie/bin/checkpolicy-35,
#                             trixie/bin/secilc-34, trixie/bin/secilc-35 are wrapper scripts.
#   trixie/debian-policy/policy.{33,34,35}  Debian's built policy (step policy) rewritten at
#                             each version (34 by trixie's checkpolicy, 33/35 by sid's).
#                             condxperm.34: the same plus a conditional allowx (secilc), which
#                             no kernel before policy version 34 may load.
#   trixie-bench/             Debian 13's libselinux 3.8 (lib, headers), setfiles, and what they
#                             need to run (libc6, libpcre2-8-0, libsepol2, libaudit1, ...),
#                             unpacked; bin/setfiles runs trixie's setfiles through its loader;
#                             versions names the libselinux1 and policycoreutils versions.
#   sid-bench/                the same for Debian sid: libselinux 3.11, setfiles 3.11.
#   sid-libselinux/           Debian sid's libselinux1 3.11 with libpcre2-8-0 and libc6, unpacked
#                             (not installed): the 3.11 lookup oracle (testutil.SidLibselinuxOracle)
#                             is built against bookworm's headers and run through sid's loader,
#                             bin/ld.so-run is that wrapper; versions names the packages.
#   sid-policy/               Debian sid's selinux-policy-default (refpolicy 2.2026xxxx) built by
#                             sid's semodule 3.11 in a private root: etc/selinux/default/policy/
#                             policy.35 and contexts/files/file_contexts{,.homedirs,.subs_dist}
#                             (no .bin); tools/ holds the unpacked sid tools it was built with.
#   trixie-policy/            the same for Debian 13 (refpolicy 2.20250213, semodule 3.8: policy.34).
#   bigtree/                  debootstrap minbase bookworm + systemd, sshd, gcc, python3, ...
#                             (>= 20k objects): the larger benchmark tree (scripts/bench).
set -eu

CACHE=${1:-.cache}
shift 2>/dev/null || true
STEPS=${*:-apt kernel kernel7 policy minbase systemd trixie sid_libselinux sid_policy trixie_policy trixie_bench}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
export DEBIAN_FRONTEND=noninteractive

APT_PKGS="qemu-system-x86 cpio e2fsprogs busybox-static selinux-utils policycoreutils \
semodule-utils checkpolicy secilc libselinux1-dev debootstrap gcc make strace xz-utils \
podman runc catatonit man-db"

log() { echo "provision: $*" >&2; }

step_apt() {
	missing=""
	for p in $APT_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing:$missing"
	if [ ! -f "$CACHE/.apt-updated" ]; then
		apt-get update -qq
		touch "$CACHE/.apt-updated"
	fi
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

step_kernel() {
	[ -f "$CACHE/kernel/.done" ] && return 0
	log "fetching Debian's kernel"
	rm -rf "$CACHE/kernel" && mkdir -p "$CACHE/kernel/dl"
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	[ -n "$pkg" ] || { log "cannot resolve linux-image-amd64"; exit 1; }
	(cd "$CACHE/kernel/dl" && apt-get download "$pkg" 2>/dev/null)
	dpkg-deb -x "$CACHE"/kernel/dl/*.deb "$CACHE/kernel/x"
	cp "$CACHE"/kernel/x/boot/vmlinuz-* "$CACHE/kernel/vmlinuz"
	mv "$CACHE"/kernel/x/lib/modules/* "$CACHE/kernel/modules"
	echo "$pkg" > "$CACHE/kernel/package"
	rm -rf "$CACHE/kernel/x" "$CACHE/kernel/dl"
	touch "$CACHE/kernel/.done"
}

# step_kernel7: Debian sid's 7.x kernel for test/vm, through a scratch apt configuration for sid
# (nothing is installed). linux-image-amd64 depends on an empty linux-image-V, which depends on
# linux-binary-V (vmlinuz), linux-modules-V and linux-base-V (config, modules.builtin), all with
# their files under /usr/lib/modules/V/ (no /boot). The modules stay .ko.xz: stage0 hands them
# to finit_module compressed (the kernel decompresses, CONFIG_MODULE_DECOMPRESS).
step_kernel7() {
	[ -f "$CACHE/kernel7/.done" ] && return 0
	log "fetching Debian sid's Linux 7.x kernel"
	a="$CACHE/kernel7.apt"
	rm -rf "$CACHE/kernel7" "$a" && mkdir -p "$a/dl" "$CACHE/kernel7"
	scratch_apt "$a" sid
	img=$(APT_CONFIG="$a/apt.conf" apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	v=${img#linux-image-}
	case $v in 7.*) ;; *) log "sid's linux-image-amd64 is $img, not a 7.x kernel"; exit 1 ;; esac
	(cd "$a/dl" && APT_CONFIG="$a/apt.conf" apt-get -qq download "linux-binary-$v" "linux-modules-$v" "linux-base-$v")
	for d in "$a"/dl/*.deb; do dpkg-deb -x "$d" "$a/x"; done
	for d in "$a"/dl/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$d"; done | paste -sd, > "$CACHE/kernel7/package"
	mv "$a/x/usr/lib/modules/$v" "$CACHE/kernel7/modules"
	mv "$CACHE/kernel7/modules/vmlinuz" "$CACHE/kernel7/vmlinuz"
	[ -f "$CACHE/kernel7/modules/modules.builtin" ] || { log "$v has no modules.builtin"; exit 1; }
	rm -rf "$a"
	touch "$CACHE/kernel7/.done"
}

step_policy() {
	[ -f "$CACHE/policy/.done" ] && return 0
	log "building Debian's default policy with semodule (about a minute)"
	rm -rf "$CACHE/policy" "$CACHE/policy.dl" && mkdir -p "$CACHE/policy.dl"
	(cd "$CACHE/policy.dl" && apt-get download selinux-policy-default 2>/dev/null)
	root="$CACHE/policy"
	dpkg-deb -x "$CACHE"/policy.dl/*.deb "$root"
	share="$root/usr/share/selinux/default"
	notdefault="amtu bugzilla cobbler condor cyphesis git ksmtuned likewise livecd nessus numad oddjob openca soundserver thunderbird updfstab usernetctl"
	set --
	for m in $(cat "$share/.modules"); do set -- "$@" "-i$share/$m.pp.bz2"; done
	for m in $notdefault; do set -- "$@" "-d$m"; done
	mkdir -p "$root/var/lib/selinux"
	semodule -p "$root" -s default -X 100 -n "$@" 2>&1 | grep -v 'not in password file' >&2 || true
	[ -f "$root/etc/selinux/default/policy/policy.33" ] || { log "semodule did not produce policy.33"; exit 1; }
	rm -rf "$CACHE/policy.dl"
	touch "$root/.done"
}

step_minbase() {
	[ -f "$CACHE/minbase/.done" ] && return 0
	log "debootstrap --variant=minbase bookworm (a few minutes)"
	rm -rf "$CACHE/minbase"
	debootstrap --variant=minbase bookworm "$CACHE/minbase" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 || {
		tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
	# Strip what a running system would not hold and what varies between runs.
	rm -rf "$CACHE/minbase/var/cache/apt/archives/"*.deb "$CACHE/minbase/debootstrap"
	touch "$CACHE/minbase/.done"
}

# step_systemd: the tree of test/oci's "nsinit before systemd" image: bookworm's minbase plus
# Debian's systemd (the image's init) and dbus (systemctl talks to systemd through it).
step_systemd() {
	[ -f "$CACHE/minbase-systemd/.done" ] && return 0
	log "debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm (about a minute)"
	rm -rf "$CACHE/minbase-systemd"
	debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$CACHE/minbase-systemd" \
		http://deb.debian.org/debian >"$CACHE/minbase-systemd.log" 2>&1 || {
		tail -20 "$CACHE/minbase-systemd.log" >&2; exit 1; }
	rm -rf "$CACHE/minbase-systemd/var/cache/apt/archives/"*.deb "$CACHE/minbase-systemd/debootstrap"
	touch "$CACHE/minbase-systemd/.done"
}

# step_trixie: newer SELinux compilers than bookworm's (33) without installing anything: a
# scratch apt configuration (own sources list, lists, cache and an empty dpkg status) fetches
# the .debs, dpkg-deb -x unpacks them, and wrappers run them through trixie's own loader
# (they need glibc >= 2.38; bookworm has 2.36). sid's 3.11 only needs glibc 2.38 too.
step_trixie() {
	[ -f "$CACHE/trixie/.done" ] && return 0
	log "fetching trixie's and sid's checkpolicy/secilc/libsepol into $CACHE/trixie"
	rm -rf "$CACHE/trixie" "$CACHE/trixie.apt"
	a="$CACHE/trixie.apt"
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/dl/trixie" "$a/dl/sid"
	: > "$a/status"
	kr=/usr/share/keyrings/debian-archive-keyring.gpg
	printf 'deb [signed-by=%s] http://deb.debian.org/debian %s main\n' "$kr" trixie "$kr" sid > "$a/sources.list"
	set -- -o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$a/lists" -o Dir::Cache="$a/cache" -o Dir::State::Status="$a/status" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Acquire::Languages=none -o APT::Get::List-Cleanup=0
	apt-get "$@" -qq update
	(cd "$a/dl/trixie" && apt-get "$@" -qq download checkpolicy/trixie secilc/trixie libsepol2/trixie libc6/trixie)
	(cd "$a/dl/sid" && apt-get "$@" -qq download checkpolicy/sid secilc/sid libsepol2/sid)
	root="$CACHE/trixie"
	for d in "$a"/dl/trixie/*.deb; do dpkg-deb -x "$d" "$root"; done
	for d in "$a"/dl/sid/*.deb; do dpkg-deb -x "$d" "$root/sid"; done
	mkdir -p "$root/bin"
	lib="$root/usr/lib/x86_64-linux-gnu"
	for v in 34 35; do
		r=$root; [ $v = 35 ] && r=$root/sid
		for t in checkpolicy:usr/bin/checkpolicy secilc:usr/bin/secilc; do
			cat > "$root/bin/${t%%:*}-$v" <<-EOF
			#!/bin/sh
			exec "$lib/ld-linux-x86-64.so.2" --library-path "$r/usr/lib/x86_64-linux-gnu:$lib" "$r/${t#*:}" "\$@"
			EOF
			chmod +x "$root/bin/${t%%:*}-$v"
		done
	done
	# -V prints the newest version it writes: "34 (compatibility range 34-15)".
	"$root/bin/checkpolicy-34" -V | grep -q '^34 ' || { log "trixie checkpolicy does not run"; exit 1; }
	v=$("$root/bin/checkpolicy-35" -V | cut -d' ' -f1)
	[ "${v:-0}" -ge 35 ] 2>/dev/null || { log "sid checkpolicy does not run or writes only up to $v"; exit 1; }
	src="$CACHE/policy/etc/selinux/default/policy/policy.33"
	[ -f "$src" ] || { log "step trixie needs step policy first"; exit 1; }
	mkdir -p "$root/debian-policy"
	for v in 33 34 35; do # 34 with Debian 13's own compiler, as trixie ships it
		cp=checkpolicy-35; [ $v = 34 ] && cp=checkpolicy-34
		"$root/bin/$cp" -M -b -c $v -o "$root/debian-policy/policy.$v" "$src" >/dev/null 2>&1
	done
	# A blocker: Debian's policy plus one allowx inside a boolean block, which needs 34.
	"$root/bin/checkpolicy-34" -M -b -C -o "$root/debian-policy/policy.cil" "$src" >/dev/null 2>&1
	echo '(booleanif secure_mode_insmod (true (allowx init_t init_t (ioctl blk_file (0x1234)))))' >> "$root/debian-policy/policy.cil"
	"$root/bin/secilc-34" -M true -c 34 -f /dev/null -o "$root/debian-policy/condxperm.34" "$root/debian-policy/policy.cil"
	rm "$root/debian-policy/policy.cil"
	rm -rf "$a"
	touch "$root/.done"
}

# scratch_apt DIR SUITE: a private apt configuration in DIR for Debian SUITE (own sources list,
# lists, cache and an empty dpkg status: nothing is installed), written to DIR/apt.conf and
# updated. Use it as APT_CONFIG=DIR/apt.conf apt-get download ...
scratch_apt() {
	mkdir -p "$1/lists/partial" "$1/cache/archives/partial"
	: > "$1/status"
	printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' "$2" > "$1/sources.list"
	cat > "$1/apt.conf" <<-EOF
	Dir::Etc::SourceList "$1/sources.list";
	Dir::Etc::SourceParts "/dev/null";
	Dir::State::Lists "$1/lists";
	Dir::Cache "$1/cache";
	Dir::State::Status "$1/status";
	Debug::NoLocking "1";
	APT::Sandbox::User "root";
	Acquire::Languages "none";
	APT::Get::List-Cleanup "0";
	EOF
	APT_CONFIG="$1/apt.conf" apt-get -qq update
}

# bench_peer SUITE: a peer for scripts/bench: SUITE's libselinux (lib, headers), setfiles and
# what they need to run, unpacked into $CACHE/SUITE-bench (not installed), run through SUITE's
# own loader (trixie's glibc 2.38, sid's 2.43: bookworm has 2.36).
bench_peer() {
	root="$CACHE/$1-bench"
	[ -f "$root/.done" ] && return 0
	log "fetching $1's libselinux/setfiles into $root"
	a="$CACHE/$1-bench.apt"
	rm -rf "$root" "$a" && mkdir -p "$a/dl"
	scratch_apt "$a" "$1"
	(cd "$a/dl" && APT_CONFIG="$a/apt.conf" apt-get -qq download libselinux1/"$1" \
		libselinux1-dev/"$1" selinux-utils/"$1" policycoreutils/"$1" libpcre2-8-0/"$1" \
		libsepol2/"$1" libaudit1/"$1" libcap-ng0/"$1" libc6/"$1")
	for d in "$a"/dl/*.deb; do dpkg-deb -x "$d" "$root"; done
	for d in "$a"/dl/libselinux1_*.deb "$a"/dl/policycoreutils_*.deb; do
		dpkg-deb -W --showformat='${Package} ${Version}\n' "$d"
	done | paste -sd, > "$root/versions"
	lib="$root/usr/lib/x86_64-linux-gnu"
	mkdir -p "$root/bin"
	for t in setfiles:usr/sbin/setfiles matchpathcon:usr/sbin/matchpathcon; do
		cat > "$root/bin/${t%%:*}" <<-EOF
		#!/bin/sh
		exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$root/${t#*:}" "\$@"
		EOF
		chmod +x "$root/bin/${t%%:*}"
	done
	"$root/bin/setfiles" 2>&1 | grep -qi usage || {
		log "$1 setfiles does not run"; exit 1; }
	ls "$lib"/libselinux.so.1 "$root/usr/include/selinux/label.h" >/dev/null
	rm -rf "$a"
	touch "$root/.done"
}

# step_trixie_bench: Debian 13's libselinux/setfiles 3.8 (bench_peer): the fastest peer of
# scripts/bench and the 3.8 oracle of nsinit relabel -v (testutil.TrixieSetfiles).
step_trixie_bench() { bench_peer trixie; }

# step_sid_bench: Debian sid's libselinux/setfiles 3.11 (policycoreutils 3.11; bench_peer).
step_sid_bench() { bench_peer sid; }

# step_sid_libselinux: the 3.11 side of the lookup conformance tests: sid's libselinux1 and what
# it loads, unpacked, and a wrapper running a program through sid's own loader with sid's
# libraries first (the program is linked here against bookworm's libselinux: same soname).
step_sid_libselinux() {
	[ -f "$CACHE/sid-libselinux/.done" ] && return 0
	log "fetching sid's libselinux into $CACHE/sid-libselinux"
	a="$CACHE/sid-libselinux.apt"
	rm -rf "$CACHE/sid-libselinux" "$a" && mkdir -p "$a/dl"
	scratch_apt "$a" sid
	(cd "$a/dl" && APT_CONFIG="$a/apt.conf" apt-get -qq download libselinux1/sid libpcre2-8-0/sid libc6/sid)
	root="$CACHE/sid-libselinux"
	for d in "$a"/dl/*.deb; do dpkg-deb -x "$d" "$root"; done
	for d in "$a"/dl/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$d"; done | paste -sd, > "$root/versions"
	lib="$root/usr/lib/x86_64-linux-gnu"
	mkdir -p "$root/bin"
	cat > "$root/bin/ld.so-run" <<-EOF
	#!/bin/sh
	exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "\$@"
	EOF
	chmod +x "$root/bin/ld.so-run"
	grep -q LIBSELINUX_3.9 "$lib/libselinux.so.1" || { log "sid's libselinux is older than 3.9"; exit 1; }
	rm -rf "$a"
	touch "$root/.done"
}

# debian_policy SUITE VERSION: SUITE's refpolicy as its postinst builds it, into
# $CACHE/SUITE-policy, with SUITE's semodule run through SUITE's loader; libsemanage's helpers
# (the pp compiler, setfiles) are wrappers doing the same, named in a private semanage.conf.
# Bookworm's semodule cannot read newer modules (sid's are version 24). The postinst's
# disable list names modules the package may no longer ship (likewise): only those in
# .modules are disabled. No .bin is compiled (sefcontext_compile: true). VERSION is the
# policy.N semodule must write.
debian_policy() {
	suite=$1 v=$2
	[ -f "$CACHE/$suite-policy/.done" ] && return 0
	log "building $suite's default policy with $suite's semodule into $CACHE/$suite-policy (about a minute)"
	a="$CACHE/$suite-policy.apt"
	root="$CACHE/$suite-policy"
	rm -rf "$root" "$a" && mkdir -p "$a/dl" "$root/tools/bin"
	scratch_apt "$a" "$suite"
	set --
	for p in selinux-policy-default policycoreutils libsemanage2 libsepol2 libselinux1 libpcre2-8-0 \
		libc6 libbz2-1.0 libaudit1 libcap-ng0; do set -- "$@" "$p/$suite"; done
	(cd "$a/dl" && APT_CONFIG="$a/apt.conf" apt-get -qq download "$@")
	t="$root/tools"
	for d in "$a"/dl/*.deb; do
		case $d in */selinux-policy-default_*) dpkg-deb -x "$d" "$root" ;; *) dpkg-deb -x "$d" "$t" ;; esac
	done
	dpkg-deb -W --showformat='${Package} ${Version}\n' "$a"/dl/selinux-policy-default_*.deb > "$root/versions"
	lib="$t/usr/lib/x86_64-linux-gnu"
	for p in semodule:usr/sbin/semodule setfiles:usr/sbin/setfiles pp:usr/libexec/selinux/hll/pp; do
		cat > "$t/bin/${p%%:*}" <<-EOF
		#!/bin/sh
		exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$t/${p#*:}" "\$@"
		EOF
		chmod +x "$t/bin/${p%%:*}"
	done
	mkdir -p "$root/etc/selinux" "$root/var/lib/selinux"
	cat > "$root/etc/selinux/semanage.conf" <<-EOF
	module-store = direct
	expand-check = 0
	compiler-directory = $t/bin
	[setfiles]
	path = $t/bin/setfiles
	args = -q -c \$@ \$<
	[end]
	[sefcontext_compile]
	path = /bin/true
	args = \$@
	[end]
	EOF
	share="$root/usr/share/selinux/default"
	set --
	for m in $(cat "$share/.modules"); do set -- "$@" "-i$share/$m.pp.bz2"; done
	for m in cobbler condor cyphesis git ksmtuned likewise livecd nessus numad oddjob soundserver publicfile thunderbird updfstab usernetctl; do
		grep -qx "$m" "$share/.modules" && set -- "$@" "-d$m"
	done
	# semodule validates a file_contexts.local that does not exist: "Error obtaining file
	# context handle" is expected once.
	"$t/bin/semodule" -p "$root" -s default -X 100 -n "$@" 2>&1 | grep -v 'not in password file' >&2 || true
	[ -f "$root/etc/selinux/default/policy/policy.$v" ] && [ -f "$root/etc/selinux/default/contexts/files/file_contexts" ] ||
		{ log "$(basename "$root")'s semodule did not produce policy.$v and file_contexts"; exit 1; }
	rm -rf "$a"
	touch "$root/.done"
}

step_sid_policy() { debian_policy sid 35; }
step_trixie_policy() { debian_policy trixie 34; }

# step_bigtree: the larger benchmark tree, a bookworm minbase with what a server holds
# (init, sshd, compilers and headers, git, perl, python, vim), about 25k objects. Not needed by make test.
BIGTREE_PKGS=systemd,systemd-sysv,dbus,openssh-server,build-essential,git,perl,python3,python3-pip,vim,locales,tzdata,man-db,iproute2,sudo,cron,less,curl
step_bigtree() {
	[ -f "$CACHE/bigtree/.done" ] && return 0
	log "debootstrap bookworm minbase + $BIGTREE_PKGS (several minutes)"
	rm -rf "$CACHE/bigtree"
	debootstrap --variant=minbase --include="$BIGTREE_PKGS" bookworm "$CACHE/bigtree" \
		http://deb.debian.org/debian >"$CACHE/bigtree.log" 2>&1 || { tail -20 "$CACHE/bigtree.log" >&2; exit 1; }
	rm -rf "$CACHE/bigtree/var/cache/apt/archives/"*.deb "$CACHE/bigtree/debootstrap"
	touch "$CACHE/bigtree/.done"
}

for s in $STEPS; do "step_$s"; done
