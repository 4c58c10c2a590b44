# nsinit — see README.md. Every target installs what it needs (scripts/provision.sh) and
# caches downloads under $(CACHE), which git ignores.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
CACHE ?= $(CURDIR)/.cache
export NSINIT_CACHE := $(CACHE)
GO ?= go
FUZZTIME ?= 5s
# staticcheck, pinned: `go run` fetches it through the module proxy into the module cache.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOFILES := $(shell find cmd internal test -name '*.go' 2>/dev/null) go.mod go.sum
# The version `nsinit --version` and the man page show: the tag vMAJOR.MINOR.PATCH, with
# -N-gHASH after it on later commits and -dirty for a changed tree; a bare commit hash while
# the repository has no tag (git describe's fallback).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
# make install: the binary in $(DESTDIR)$(SBINDIR), the page in $(DESTDIR)$(MANDIR)/man8.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

.PHONY: all build test unit lint fuzz-smoke provision demo clean bench release man install bin/nsinit

all: build

## build: the static nsinit binary in bin/nsinit, stamped with $(VERSION) (always rebuilt:
## the version moves with the commit; Go's build cache makes an unchanged build instant)
build: bin/nsinit
bin/nsinit:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)' -o $@ ./cmd/nsinit

## install: bin/nsinit to $(DESTDIR)$(SBINDIR) and its generated nsinit(8) to
## $(DESTDIR)$(MANDIR)/man8 (PREFIX=/usr/local; DESTDIR for staging and packages)
install: build
	install -D -m 0755 bin/nsinit $(DESTDIR)$(SBINDIR)/nsinit
	mkdir -p $(DESTDIR)$(MANDIR)/man8
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) bin/nsinit man >$(DESTDIR)$(MANDIR)/man8/nsinit.8.tmp
	mv $(DESTDIR)$(MANDIR)/man8/nsinit.8.tmp $(DESTDIR)$(MANDIR)/man8/nsinit.8
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/nsinit.8

## provision: apt packages, Debian's kernel, Debian's built policy, a debootstrap tree
provision:
	scripts/provision.sh $(CACHE)
	$(GO) mod download

## test: the whole suite (unit, root, conformance against libselinux/setfiles, real kernel)
test: provision
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	NSINIT_REQUIRE_REAL=1 $(GO) test -count=1 -timeout 30m ./...
	$(MAKE) fuzz-smoke

## lint: go vet and the pinned staticcheck
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## unit: the Go tests only, skipping what is not provisioned
unit:
	$(GO) test ./...

## fuzz-smoke: run every fuzz target for $(FUZZTIME)
fuzz-smoke:
	scripts/fuzz-smoke.sh $(FUZZTIME)

## demo: boot Debian's kernel under qemu with SELinux and nsinit as PID 1 from a labelled ext4
## image (SELINUX=enforcing), stream the console, end with a PASS/FAIL verdict line
demo: provision build
	$(GO) run ./test/vm/cmd/vmrun -nsinit bin/nsinit -scenario enforcing

## vmtest: only the real-kernel tests (test/vm: bring-up a-f, first-boot relabel, supervisor
## mode, policy downgrade, failure controls on Debian's 6.1, the core subset on sid's 7.x;
## about 4-5 min)
.PHONY: vmtest
vmtest: provision
	NSINIT_REQUIRE_REAL=1 $(GO) test -count=1 -v -timeout 20m ./test/vm/

## bench: nsinit against libselinux/setfiles 3.4 (bookworm), 3.8 (trixie), 3.11 (sid) and the syscall
## floor, side by side: lookups, load, relabel, syscalls per object, profiles (as root, about
## 10 min; the first run also fetches trixie's and sid's libselinux/setfiles and debootstraps a
## larger tree).
## See docs/performance.md.
bench:
	scripts/provision.sh $(CACHE) apt policy minbase trixie_bench sid_bench bigtree
	scripts/bench/bench.sh

## release: static, stripped, reproducible dist/nsinit with its sha256 and man page
release:
	scripts/release.sh

## man: regenerate docs/nsinit.8 from the command table
man:
	$(GO) run ./cmd/nsinit man > docs/nsinit.8

clean:
	rm -rf bin dist
