package vm

import "testing"

func TestContainerRuns(t *testing.T) {
	console := "TESTINIT: container: a out: nsinit: emergency: refusing\r\n" +
		"[    1.0] kernel line\n" +
		"TESTINIT: container: a out: second line\n" +
		"TESTINIT: container: a exit=3 before=policy:none after=policy:loaded\n" +
		"TESTINIT: container: b exit=x before=s after=s\n" +
		"TESTINIT: container: c out: started, never finished\n"
	runs := ContainerRuns(console)
	a := runs["a"]
	if a == nil || !a.done || a.Exit != 3 || a.Before != "policy:none" || a.After != "policy:loaded" || len(a.Out) != 2 || a.Out[1] != "second line" {
		t.Fatalf("a = %+v", a)
	}
	if b := runs["b"]; b == nil || b.Exit != -1 || !b.done {
		t.Fatalf("b (unparsable exit) = %+v", b)
	}
	if c := runs["c"]; c == nil || c.done {
		t.Fatalf("c (no summary) = %+v", c)
	}
	if err := expectContainers(&Result{Console: console}); err == nil {
		t.Fatal("expectContainers accepted a console without the cases")
	}
}
