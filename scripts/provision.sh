#!/bin/sh
# provision.sh — fetch and build everything the test suite and the demo need, into a
# git-ignored cache directory. Idempotent: each step leaves a stamp and is skipped next time.
#
#   scripts/provision.sh [CACHE_DIR] [STEP...]
#
# Steps: apt kernel policy minbase (default: all). Layout of CACHE_DIR (default .cache):
#   kernel/vmlinuz            Debian bookworm's linux-image-*-amd64 kernel (SELinux built in)
#   kernel/modules/           its lib/modules/<version> tree (virtio, ext4 are modules)
#   policy/etc/selinux/default/   Debian's selinux-policy-default built with semodule:
#                                 policy/policy.33, contexts/files/file_contexts{,.bin,...}
#   minbase/                  a debootstrap --variant=minbase bookworm tree (conformance input)
set -eu

CACHE=${1:-.cache}
shift 2>/dev/null || true
STEPS=${*:-apt kernel policy minbase}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
export DEBIAN_FRONTEND=noninteractive

APT_PKGS="qemu-system-x86 cpio e2fsprogs busybox-static selinux-utils policycoreutils \
semodule-utils checkpolicy libselinux1-dev debootstrap gcc make strace"

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

for s in $STEPS; do "step_$s"; done
