package metricnames

import "testing"

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		name string
		ok   bool
	}{
		{Counter, "floatlb_l2_owner_changes_total", true},
		{Gauge, "floatlb_config_valid", true},
		{Gauge, "floatlb_control_plane_vip_held", true},
		{Histogram, "floatlb_l2_failover_seconds", true},
		{Counter, "floatlb_l2_owner_changes", false},
		{Gauge, "floatlb_l2_owned_total", false},
		{Histogram, "floatlb_l2_failover", false},
		{Gauge, "floatlb_valid", false},
		{Gauge, "metallb_config_valid", false},
		{Gauge, "floatlb_Config_valid", false},
	} {
		if err := Check(tc.kind, tc.name); (err == nil) != tc.ok {
			t.Errorf("Check(%s, %s) = %v; want ok %v", tc.kind, tc.name, err, tc.ok)
		}
	}
}
