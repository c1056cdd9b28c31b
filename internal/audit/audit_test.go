package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	crzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/orgkeeper/orgkeeper/internal/audit"
)

func TestALogSinkWritesOneJSONLineNamedAuditWithTheRequestsIDAndAddress(t *testing.T) {
	var buf bytes.Buffer
	sink := audit.NewLogSink(crzap.New(crzap.WriteTo(&buf), crzap.UseDevMode(false)))
	ctx := audit.WithRequest(context.Background(), audit.Request{ID: "req-1", ClientAddress: "192.0.2.7"})
	sink.Record(ctx, audit.Event{Event: audit.EventAdminChange, Organization: "acme",
		Object: &audit.Object{Kind: "OrgUser", Namespace: "acme", Name: "alice", Generation: 3, Change: "updated", Manager: "kubectl-edit"}})

	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	want := map[string]any{"logger": "audit", "event": "admin_change", "organization": "acme", "requestID": "req-1",
		"clientAddress": "192.0.2.7", "kind": "OrgUser", "namespace": "acme", "name": "alice", "generation": float64(3),
		"change": "updated", "manager": "kubectl-edit"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, line[k], v, buf.String())
		}
	}
	for _, k := range []string{"client", "userID", "reason", "result"} {
		if _, ok := line[k]; ok {
			t.Errorf("empty field %s is written: %s", k, buf.String())
		}
	}
}

func TestTheMiddlewareRecordsTheClientAddressItIsGiven(t *testing.T) {
	var got audit.Request
	h := audit.Middleware(func(*http.Request) string { return "203.0.113.9" }, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, _ = audit.FromContext(r.Context())
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got.ClientAddress != "203.0.113.9" || got.ID == "" || rec.Header().Get(audit.HeaderRequestID) != got.ID {
		t.Errorf("request %+v, answered ID %q", got, rec.Header().Get(audit.HeaderRequestID))
	}
}
