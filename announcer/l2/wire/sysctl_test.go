package wire

import (
	"os"
	"path/filepath"
	"testing"
)

func TestARPIgnore(t *testing.T) {
	tests := []struct {
		name      string
		all, ifv  string
		want      int
		wantError bool
	}{
		{name: "both zero", all: "0\n", ifv: "0\n", want: 0},
		{name: "all wins", all: "1\n", ifv: "0\n", want: 1},
		{name: "interface wins", all: "0\n", ifv: "2\n", want: 2},
		{name: "interface missing", all: "1\n", wantError: true},
		{name: "garbage", all: "x\n", ifv: "0\n", wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write := func(dir, v string) {
				if v == "" {
					return
				}
				if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, dir, "arp_ignore"), []byte(v), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("all", tc.all)
			write("eth0", tc.ifv)
			got, err := arpIgnore(root, "eth0")
			if (err != nil) != tc.wantError {
				t.Fatalf("arpIgnore: error %v, want error %t", err, tc.wantError)
			}
			if got != tc.want {
				t.Errorf("arpIgnore = %d, want %d", got, tc.want)
			}
		})
	}
	if _, err := arpIgnore(t.TempDir(), "../all"); err == nil {
		t.Errorf("arpIgnore accepted an interface name with a slash")
	}
}
