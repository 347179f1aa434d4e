package apikey

import "testing"

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 active keys", 1: "1 active key", 2: "2 active keys"} {
		if got := Count(n, "active key"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestOneLine(t *testing.T) {
	if got := OneLine("  SELECT id\n\tFROM api_keys\r\n WHERE x  "); got != "SELECT id FROM api_keys WHERE x" {
		t.Errorf("OneLine = %q", got)
	}
}
