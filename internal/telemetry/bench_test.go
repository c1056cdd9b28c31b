package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	crzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// BenchmarkSignInRecorded is what one sign-in adds: its counter and its
// audit line (JSON, as the manager writes it).
func BenchmarkSignInRecorded(b *testing.B) {
	m, err := telemetry.New(telemetry.Options{Registerer: prometheus.NewRegistry(), MaxOrganizations: 100, MaxClients: 100})
	if err != nil {
		b.Fatal(err)
	}
	sink := audit.NewLogSink(crzap.New(crzap.WriteTo(io.Discard), crzap.UseDevMode(false)))
	ctx := audit.WithRequest(context.Background(), audit.Request{ID: "0af7651916cd43dd8448eb211c80319c", ClientAddress: "203.0.113.24"})
	b.ReportAllocs()
	for b.Loop() {
		m.SignIn("acme", telemetry.MethodPassword, telemetry.SignInSuccess)
		sink.Record(ctx, audit.Event{Event: audit.EventSignIn, Organization: "acme", Client: "portal",
			UserID: "3b5e2c1a-4f0e-4d8e-9a51-0c7f6b2d9e11", Method: "password", Result: audit.ResultSuccess})
	}
}

// BenchmarkRequestObserved is what every request adds: its ID and context
// (audit.Middleware) and its latency histogram.
func BenchmarkRequestObserved(b *testing.B) {
	m, err := telemetry.New(telemetry.Options{Registerer: prometheus.NewRegistry(), MaxOrganizations: 100, MaxClients: 100})
	if err != nil {
		b.Fatal(err)
	}
	h := audit.Middleware(nil, m.InstrumentHTTP(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })))
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
