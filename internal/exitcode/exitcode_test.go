package exitcode

import "testing"

// TestCodes checks that Codes describes every constant, once, in increasing order.
func TestCodes(t *testing.T) {
	consts := map[string]int{
		"OK": OK, "Failure": Failure, "Usage": Usage, "Refused": Refused,
		"FailClosed": FailClosed, "ExecFailed": ExecFailed, "Aborted": Aborted,
	}
	if len(Codes) != len(consts) {
		t.Errorf("Codes has %d entries, want %d", len(Codes), len(consts))
	}
	for i, c := range Codes {
		if v, ok := consts[c.Name]; !ok || v != c.Status {
			t.Errorf("Codes[%d] = %d %q: no such constant with that value", i, c.Status, c.Name)
		}
		if i > 0 && c.Status <= Codes[i-1].Status {
			t.Errorf("Codes[%d] (%d) not in increasing order", i, c.Status)
		}
		if c.Meaning == "" {
			t.Errorf("Codes[%d] (%s) has no meaning", i, c.Name)
		}
	}
}
