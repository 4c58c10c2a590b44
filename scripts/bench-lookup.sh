#!/bin/bash
# bench-lookup.sh [TREE [POLICY_DIR]] — file_contexts lookups: libselinux vs nsinit, same keys,
# same run. Builds the C driver (internal/fcontext/testdata/oracle/selabel_lookup.c, against
# the installed libselinux) and its Go twin (internal/fcontext/testdata/benchdriver), makes
# one key per object of TREE ("/" + path relative to TREE, TAB, octal st_mode type bits),
# and runs both drivers ROUNDS times each (alternating) on POLICY_DIR's file_contexts, once
# with the text inputs and once with the .bin inputs (chosen by mtime, as libselinux does).
# Prints the medians of load time and lookups/s, the largest max RSS, and the ratios.
#   TREE        default: .cache/minbase (debootstrap minbase of bookworm)
#   POLICY_DIR  default: .cache/policy/etc/selinux/default
#   SECS=3 ROUNDS=5  seconds of lookups per driver run, runs per driver
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-.cache/minbase}
policy=${2:-.cache/policy/etc/selinux/default}
secs=${SECS:-3}
rounds=${ROUNDS:-5}
export PATH=$PATH:/usr/local/go/bin

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -o "$work/selabel_lookup" internal/fcontext/testdata/oracle/selabel_lookup.c -lselinux
go build -o "$work/benchdriver" ./internal/fcontext/testdata/benchdriver

# Keys: st_mode type bits by find's %y (f d l c b p s).
(cd "$tree" && find . -printf '%P\t%y\n') | awk -F'\t' '
	BEGIN { m["f"]="100000"; m["d"]="40000"; m["l"]="120000"; m["c"]="20000"; m["b"]="60000"; m["p"]="10000"; m["s"]="140000" }
	{ printf "/%s\t%s\n", $1, ($2 in m) ? m[$2] : "0" }' >"$work/keys"
nkeys=$(wc -l <"$work/keys")

# Two copies of contexts/files: text newer, and .bin newer.
for kind in text bin; do
	cp -a "$policy/contexts/files" "$work/$kind"
	for f in "$work/$kind"/*; do
		stamp=2020-01-01
		case "$f" in
		*.bin) [ "$kind" = bin ] && stamp=2024-01-01 ;;
		*) [ "$kind" = text ] && stamp=2024-01-01 ;;
		esac
		touch -d "$stamp" "$f"
	done
done

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

printf 'keys: %d objects of %s; policy %s; %ss x %d runs per driver\n\n' "$nkeys" "$tree" "$policy" "$secs" "$rounds"
printf '%-5s %-11s %10s %12s %10s\n' input driver load_ms lookups/s maxrss_kb
for kind in text bin; do
	: >"$work/c.out"
	: >"$work/go.out"
	for ((i = 0; i < rounds; i++)); do
		"$work/selabel_lookup" "$work/$kind/file_contexts" --bench "$secs" <"$work/keys" >>"$work/c.out"
		"$work/benchdriver" "$work/$kind/file_contexts" --bench "$secs" <"$work/keys" >>"$work/go.out"
	done
	for d in c go; do
		load=$(field load_ms <"$work/$d.out" | median)
		rate=$(field lookups_per_sec <"$work/$d.out" | median)
		rss=$(field maxrss_kb <"$work/$d.out" | sort -g | tail -1)
		name=libselinux
		[ "$d" = go ] && name=nsinit
		printf '%-5s %-11s %10s %12s %10s\n' "$kind" "$name" "$load" "$rate" "$rss"
		eval "${d}_load=$load ${d}_rate=$rate ${d}_rss=$rss"
	done
	awk -v cl="$c_load" -v gl="$go_load" -v cr="$c_rate" -v gr="$go_rate" -v cm="$c_rss" -v gm="$go_rss" -v k="$kind" 'BEGIN {
		printf "%-5s ratios nsinit/libselinux: lookups/s %.1fx, load time %.2fx, max RSS %.2fx\n\n", k, gr / cr, gl / cl, gm / cm }'
done
