#!/bin/bash
# fuzz-smoke.sh DURATION — run every `func FuzzXxx` target in the module for DURATION each.
# A short run in `make test` catches regressions the seed corpus reaches quickly; longer runs
# are done by hand (make fuzz-smoke FUZZTIME=10m).
#
# Go 1.26's fuzzing coordinator can report a bare "context deadline exceeded" when -fuzztime
# expires while a worker is mid-input (go.dev/issue/75804, fixed in Go 1.27): no input failed
# and nothing was written. A real finding always prints "Failing input written to"; that, and
# any other failure, fails this script.
set -uo pipefail
dur=${1:-5s}
cd "$(dirname "$0")/.."
status=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
while read -r f; do
	pkg=./$(dirname "$f")
	for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
		echo "fuzz: $pkg $fn ($dur)"
		if go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$dur" "$pkg" >"$out" 2>&1; then
			tail -n 1 "$out"
		elif grep -q 'context deadline exceeded' "$out" && ! grep -q -e 'Failing input written to' -e 'panic:' -e '^    .*_test.go:[0-9]*:' "$out"; then
			echo "fuzz: $fn: deadline race at the end of -fuzztime (go.dev/issue/75804), no failing input: not a finding"
		else
			cat "$out"
			status=1
		fi
	done
done < <(grep -rl --include='*_test.go' '^func Fuzz' cmd internal test 2>/dev/null)
exit $status
