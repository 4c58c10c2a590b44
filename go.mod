module github.com/nsinit/nsinit

go 1.26.8

require (
	github.com/opencontainers/selinux v1.15.1
	github.com/spf13/pflag v1.1.0
	go.uber.org/zap v1.28.0
	golang.org/x/sys v0.50.0
	gopkg.in/ini.v1 v1.67.3
)

require (
	github.com/cyphar/filepath-securejoin v0.5.1 // indirect
	go.uber.org/multierr v1.10.0 // indirect
)
