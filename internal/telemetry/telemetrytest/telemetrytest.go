// Package telemetrytest makes the metrics a test reads back from a registry
// of its own.
package telemetrytest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// New returns metrics registered on reg, with room for ten organizations
// and ten clients before their labels read "other": more than any test
// world has.
func New(t testing.TB, reg prometheus.Registerer) *telemetry.Metrics {
	t.Helper()
	m, err := telemetry.New(telemetry.Options{Registerer: reg, MaxOrganizations: 10, MaxClients: 10})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
