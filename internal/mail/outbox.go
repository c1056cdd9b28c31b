package mail

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// The outbox Secret's layout, in one place for its writers (the OrgUser
// reconciler, internal/apiwrite) and its reader (the outbox reconciler).
const (
	// OutboxPrefix starts every outbox Secret's name; the rest is the
	// message ID.
	OutboxPrefix = "orgkeeper-mail-"
	// OutboxType is the Secret type of outbox Secrets, so that nothing
	// else is mistaken for one.
	OutboxType corev1.SecretType = "iam.orgkeeper.io/outbox"
	// LabelOutbox carries the message's state (StatePending, StateSent,
	// StateFailed); the outbox reconciler watches Secrets that have it.
	LabelOutbox = "iam.orgkeeper.io/outbox"
	// LabelKind is the message's Kind.
	LabelKind = "iam.orgkeeper.io/mail-kind"
	// MessageKey is the data key of the message (JSON). It is removed once
	// the message is delivered, with the link and its token.
	MessageKey = "message"
	// AnnotationAttempts counts delivery attempts; AnnotationSentAt is when
	// the relay accepted the message; AnnotationLastError is the last
	// failure, without the message.
	AnnotationAttempts  = "iam.orgkeeper.io/mail-attempts"
	AnnotationSentAt    = "iam.orgkeeper.io/mail-sent-at"
	AnnotationLastError = "iam.orgkeeper.io/mail-last-error"
)

// Outbox states, the values of LabelOutbox.
const (
	StatePending = "pending"
	StateSent    = "sent"
	StateFailed  = "failed"
)

// SentRetention is how long a delivered (or failed) message's Secret stays,
// without its link, as the record that the message was sent: a writer that
// retries within it finds the record and does not send again.
const SentRetention = 7 * 24 * time.Hour

// OutboxName is the outbox Secret's name for a message ID.
func OutboxName(id string) string { return OutboxPrefix + id }

// OutboxSecret is the outbox Secret of m in namespace (the system
// namespace), pending.
func OutboxSecret(namespace string, m *Message) (*corev1.Secret, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("mail: invalid message: %w", err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: OutboxName(m.ID), Namespace: namespace,
			Labels: map[string]string{
				iamv1.LabelManagedBy:    iamv1.ManagedByValue,
				LabelOutbox:             StatePending,
				LabelKind:               string(m.Kind),
				iamv1.LabelOrganization: m.Organization,
			},
		},
		Type: OutboxType,
		Data: map[string][]byte{MessageKey: b},
	}, nil
}

// ErrNotOutbox is returned by ParseOutbox for a Secret that is not a
// pending outbox message.
var ErrNotOutbox = errors.New("not a pending outbox message")

// maxMessageJSON bounds what ParseOutbox decodes.
const maxMessageJSON = 16 << 10

// ParseOutbox returns the pending message in s, checked as Validate does
// and matching the Secret's name.
func ParseOutbox(s *corev1.Secret) (*Message, error) {
	if s.Type != OutboxType || s.Labels[LabelOutbox] != StatePending {
		return nil, ErrNotOutbox
	}
	raw := s.Data[MessageKey]
	if len(raw) == 0 || len(raw) > maxMessageJSON {
		return nil, fmt.Errorf("%w: no message, or one larger than %d bytes", ErrNotOutbox, maxMessageJSON)
	}
	m := &Message{}
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("decoding the message: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if OutboxName(m.ID) != s.Name {
		return nil, fmt.Errorf("the message ID does not match the Secret's name")
	}
	return m, nil
}
