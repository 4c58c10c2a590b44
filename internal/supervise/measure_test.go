package supervise

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// measureEnv opts in to TestMeasureIdleAndReaping, which takes about 30 s and reports
// numbers instead of asserting them:
//
//	NSINIT_SUPERVISE_MEASURE=1 go test -run TestMeasureIdleAndReaping -v ./internal/supervise
const measureEnv = "NSINIT_SUPERVISE_MEASURE"

// orphanCount is how many orphans the measured run makes the supervisor reap.
const orphanCount = 10000

// TestMeasureIdleAndReaping measures the supervisor's CPU time while the application is
// idle, and its CPU time and memory while it reaps orphanCount re-parented orphans.
func TestMeasureIdleAndReaping(t *testing.T) {
	if os.Getenv(measureEnv) != "1" {
		t.Skipf("set %s=1 to measure idle CPU and RSS over %d reaped orphans", measureEnv, orphanCount)
	}
	pidns := os.Geteuid() == 0
	// Each "(: &)" forks a subshell that forks a background child and exits at once: the
	// child is orphaned to the supervisor, the subshell is reaped by the shell.
	script := fmt.Sprintf(`echo idle; sleep 6; echo busy
i=0; while [ $i -lt %d ]; do (: &); i=$((i+1)); done
echo done; sleep 1; echo end`, orphanCount)
	s := startSupervisor(t, pidns, helperOpts{Argv: []string{"sh", "-c", script}, LogLevel: "info"})
	pid := s.cmd.Process.Pid

	s.expect("idle")
	time.Sleep(time.Second) // let the runtime finish its start-up work
	idle0 := cpuTicks(t, pid)
	rssIdle := vmKB(t, pid, "VmRSS")
	const idleFor = 4 * time.Second
	time.Sleep(idleFor)
	idle1 := cpuTicks(t, pid)

	s.expect("busy")
	busy0, start := cpuTicks(t, pid), time.Now()
	var samples []int
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if kb, err := readVmKB(pid, "VmRSS"); err == nil {
					samples = append(samples, kb)
				}
			}
		}
	}()
	s.expect("done")
	close(stop)
	<-sampled
	busy1, elapsed := cpuTicks(t, pid), time.Since(start)
	rssAfter, hwm := vmKB(t, pid, "VmRSS"), vmKB(t, pid, "VmHWM")
	s.expect("end")
	if got := s.wait(); got != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", got, s.stderr)
	}
	reaped := reapedCount(t, s.stderr.String())
	if reaped < orphanCount {
		t.Errorf("supervisor reaped %d orphans, want at least %d", reaped, orphanCount)
	}
	hz := 100 // USER_HZ: /proc/PID/stat counts clock ticks of 1/100 s on Linux
	t.Logf("mode pid1=%v", pidns)
	t.Logf("idle: %d ticks (%.2f s CPU) in %v", idle1-idle0, float64(idle1-idle0)/float64(hz), idleFor)
	t.Logf("reaping: %d orphans in %v, supervisor CPU %d ticks (%.2f s, %.1f µs/orphan)",
		reaped, elapsed.Round(time.Millisecond), busy1-busy0, float64(busy1-busy0)/float64(hz),
		float64(busy1-busy0)/float64(hz)*1e6/float64(reaped))
	t.Logf("RSS: idle %d KiB, during reaping %v KiB, after %d KiB, peak (VmHWM) %d KiB",
		rssIdle, samples, rssAfter, hwm)
}

// cpuTicks returns utime+stime of pid from /proc/PID/stat, in clock ticks.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after "(comm)": state is field 3, utime 14 and stime 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	u, _ := strconv.Atoi(f[14-3])
	s, _ := strconv.Atoi(f[15-3])
	return u + s
}

// vmKB returns a "Vm..." line of /proc/PID/status in KiB.
func vmKB(t *testing.T, pid int, key string) int {
	t.Helper()
	kb, err := readVmKB(pid, key)
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

func readVmKB(pid int, key string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, key)
}
