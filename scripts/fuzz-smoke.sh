#!/bin/bash
# fuzz-smoke.sh DURATION — run every `func FuzzXxx` target in the module for DURATION each.
# A short run in `make test` catches regressions the seed corpus reaches quickly; longer runs
# are done by hand (make fuzz-smoke FUZZTIME=10m).
set -euo pipefail
dur=${1:-5s}
cd "$(dirname "$0")/.."
grep -rl --include='*_test.go' '^func Fuzz' cmd internal test 2>/dev/null | while read -r f; do
	pkg=./$(dirname "$f")
	for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
		echo "fuzz: $pkg $fn ($dur)"
		go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$dur" "$pkg"
	done
done
