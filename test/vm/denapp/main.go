// Command denapp is the application of the VM test of `nsinit denials` (TestDenialsRoundTrip):
// the image installs it as /usr/bin/denapp, labelled denapp_exec_t, an entrypoint of the
// confined domain denapp_t that the image's policy declares and gives nothing else. It
// reads /srv/denapp/data (denapp_data_t), with -append also appends a line to it, and
// reports on the console:
//
//	DENAPP: ok context=<attr/current> read=<bytes> appended=<yes|no>
//
// exiting 0, or "DENAPP: error: <what failed>" exiting 1. Each step needs permissions
// denapp_t lacks until nsinit denials has written them into a module.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

const data = "/srv/denapp/data"

func main() {
	appendLine := flag.Bool("append", false, "also append a line to "+data)
	flag.Parse()
	ctx, err := os.ReadFile("/proc/self/attr/current")
	if err != nil {
		fail("reading attr/current: %v", err)
	}
	b, err := os.ReadFile(data)
	if err != nil {
		fail("%v", err)
	}
	appended := "no"
	if *appendLine {
		f, err := os.OpenFile(data, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			_, err = f.WriteString("appended by denapp\n")
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fail("appending: %v", err)
		}
		appended = "yes"
	}
	fmt.Printf("DENAPP: ok context=%s read=%d appended=%s\n", strings.TrimRight(string(ctx), "\x00\n"), len(b), appended)
}

func fail(format string, args ...any) {
	fmt.Printf("DENAPP: error: "+format+"\n", args...)
	os.Exit(1)
}
