// Package metricstest reads collectors of a *metrics.Metrics in tests.
package metricstest

import (
	"testing"

	"github.com/bingsan/bingsan/metrics"
)

// ByLabel returns the values of the counter or gauge family name, keyed by
// the value of its label (a family with one label).
func ByLabel(t testing.TB, m *metrics.Metrics, name, label string) map[string]float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == label {
					got[l.GetValue()] = s.GetCounter().GetValue() + s.GetGauge().GetValue()
				}
			}
		}
	}
	return got
}

// Value returns the value of the unlabelled counter or gauge name.
func Value(t testing.TB, m *metrics.Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			s := f.GetMetric()[0]
			return s.GetCounter().GetValue() + s.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
