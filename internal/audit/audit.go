package audit

import (
	"context"

	"github.com/go-logr/logr"
)

// Event names: the values of the event field.
const (
	EventSignIn            = "signin"
	EventLockout           = "lockout"
	EventRefreshTokenReuse = "refresh_token_reuse"
	EventCodeReuse         = "code_reuse"
	EventTokenIssued       = "token_issued"
	EventLogout            = "logout"
	EventFederationLink    = "federation_link"
	EventFederationCreate  = "federation_provision"
	EventAdminChange       = "admin_change"
)

// Results: the values of the result field.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Event is one security event. Every field is an identifier or a value of
// a fixed vocabulary; empty fields are left out of the line.
type Event struct {
	// Event is what happened (Event* constants).
	Event string
	// Organization is the organization's handle; Client the OAuth client
	// ID; UserID the OrgUser's ID (the sub claim). A failed sign-in of an
	// unknown account has no UserID: what was typed is never recorded (it
	// may be a password typed into the wrong field).
	Organization, Client, UserID string
	// Result is ResultSuccess or ResultFailure; Reason says why, in a word
	// or two (invalid_credentials, locked, reused, ...).
	Result, Reason string
	// Method is how a sign-in was made (password, upstream, sso).
	Method string
	// Provider is the upstream identity provider (namespace/name).
	Provider string
	// Object is the Kubernetes object of an admin change or a lockout.
	Object *Object
}

// Object names a Kubernetes object and what changed in it.
type Object struct {
	Kind, Namespace, Name string
	Generation            int64
	// Change is created, updated or deleted.
	Change string
	// Manager is the field manager of the latest write (managedFields),
	// when the object records one: the closest the operator can come to
	// who made the change.
	Manager string
}

// Sink receives security events. Record must not block for long: it runs
// in the request. It is safe for concurrent use.
type Sink interface {
	Record(ctx context.Context, e Event)
}

// Discard is a Sink that records nothing.
var Discard Sink = discard{}

type discard struct{}

func (discard) Record(context.Context, Event) {}

// LogSink writes each event as one line through a logr.Logger (JSON with
// the manager's zap logger), named "audit", with the request's ID and
// client address from its context.
type LogSink struct {
	log logr.Logger
}

var _ Sink = (*LogSink)(nil)

// NewLogSink returns a LogSink writing to log.WithName("audit").
func NewLogSink(log logr.Logger) *LogSink {
	return &LogSink{log: log.WithName("audit")}
}

// Record writes e.
func (s *LogSink) Record(ctx context.Context, e Event) {
	kv := make([]any, 0, 24)
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, k, v)
		}
	}
	add("event", e.Event)
	add("organization", e.Organization)
	add("client", e.Client)
	add("userID", e.UserID)
	add("method", e.Method)
	add("provider", e.Provider)
	add("result", e.Result)
	add("reason", e.Reason)
	if r, ok := FromContext(ctx); ok {
		add("clientAddress", r.ClientAddress)
		add("requestID", r.ID)
	}
	if o := e.Object; o != nil {
		add("kind", o.Kind)
		add("namespace", o.Namespace)
		add("name", o.Name)
		if o.Generation != 0 {
			kv = append(kv, "generation", o.Generation)
		}
		add("change", o.Change)
		add("manager", o.Manager)
	}
	s.log.Info("security event", kv...)
}
