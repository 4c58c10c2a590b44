#!/bin/bash
# release.sh [REF] — build the nsinit release of git REF (default HEAD) into $DIST (dist/):
#   nsinit          static (CGO_ENABLED=0), stripped (-s -w), reproducible
#   nsinit.sha256   its checksum, in `sha256sum -c` format
#   nsinit.8        the manual page it generates (`nsinit man`), when built for this machine
#
# The source is `git archive REF`, never the working tree, so uncommitted changes cannot leak
# into a release. Reproducibility is checked, not assumed: the binary is built twice, from
# two extractions at different paths, and the two must be identical byte for byte. Anyone
# with the same Go toolchain gets the same checksum from the same commit.
#
# Environment: GOARCH (default: this machine's), GOAMD64 (default v1), VERSION (default
# `git describe --tags --always REF`), DIST (default dist), GO (default go).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

ref=${1:-HEAD}
GO=${GO:-go}
commit=$(git rev-parse --verify --quiet "$ref^{commit}") || { echo "release: $ref is not a commit" >&2; exit 2; }
version=${VERSION:-$(git describe --tags --always "$commit")}
dist=${DIST:-dist}
goarch=${GOARCH:-$($GO env GOHOSTARCH)}
# The page date and nothing else in the output depends on time: use the commit's.
epoch=$(git log -1 --format=%ct "$commit")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# build SRCDIR OUT: extract the commit into SRCDIR and build OUT from it. Only the
# variables below influence the result: the environment's GOFLAGS and the like are
# replaced, and GOTOOLCHAIN=local forbids switching to another toolchain.
build() {
	mkdir -p "$1"
	git archive --format=tar "$commit" | tar -x -C "$1"
	(cd "$1" && env CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" GOAMD64="${GOAMD64:-v1}" \
		GOFLAGS=-mod=readonly GOTOOLCHAIN=local GOEXPERIMENT= \
		$GO build -trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= -X main.version=$version -X main.commit=$commit" \
		-o "$2" ./cmd/nsinit)
}

echo "release: nsinit $version ($commit) linux/$goarch with $($GO env GOVERSION)"
build "$work/a" "$work/nsinit.a"
build "$work/second/b" "$work/nsinit.b"
if ! cmp -s "$work/nsinit.a" "$work/nsinit.b"; then
	echo "release: NOT reproducible: two builds of $commit differ" >&2
	sha256sum "$work/nsinit.a" "$work/nsinit.b" >&2
	exit 1
fi

# Static: no program interpreter, no dynamic section. Stripped: no symbol table.
if readelf -l "$work/nsinit.a" | grep -q INTERP || readelf -d "$work/nsinit.a" | grep -q NEEDED; then
	echo "release: binary is dynamically linked" >&2
	exit 1
fi
if readelf -S -W "$work/nsinit.a" | grep -q '\.symtab'; then
	echo "release: binary is not stripped" >&2
	exit 1
fi

mkdir -p "$dist"
rm -f "$dist/nsinit" "$dist/nsinit.sha256" "$dist/nsinit.8"
cp "$work/nsinit.a" "$dist/nsinit"
chmod 0755 "$dist/nsinit"
if [ "$goarch" != "$($GO env GOHOSTARCH)" ]; then
	echo "release: cross build, not generating nsinit.8 (run 'nsinit man' on the target)"
elif ! grep -q '^  man ' <<<"$("$dist/nsinit" --help)"; then
	# Never run an unknown word: it would start the default command, the bring-up.
	echo "release: $commit has no 'nsinit man' command, not generating nsinit.8"
else
	SOURCE_DATE_EPOCH=$epoch "$dist/nsinit" man >"$dist/nsinit.8"
fi
(cd "$dist" && sha256sum nsinit >nsinit.sha256)
echo "release: reproducible (2 builds identical), static, stripped, $(stat -c %s "$dist/nsinit") bytes"
cat "$dist/nsinit.sha256"
