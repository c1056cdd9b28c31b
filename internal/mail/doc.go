// Package mail renders and delivers the messages Orgkeeper sends to people:
// invitations, password-reset links and sign-up confirmations.
//
// # Messages
//
// A Message says what to send (its Kind, the recipient, the organization,
// the link and when the link expires). Render turns it into a subject, a
// plain-text body and an HTML body (one multipart/alternative message),
// with the organization's effective branding and the application's name.
// Built-in templates cover every kind; a vendor overrides them per
// organization with a ConfigMap in the system namespace (see Templates).
//
// # The outbox
//
// Nothing is sent from a request. Whoever wants a message sent (the OrgUser
// reconciler for invitations, the login pages through internal/apiwrite for
// resets and sign-ups) creates an outbox Secret in the system namespace:
// OutboxSecret, named after an idempotency key so that a retry names the
// same object and the API server lets only one be created. A Secret,
// because the link carries a token. The leader's outbox reconciler renders
// and delivers each pending message and then marks it sent, dropping the
// link; a marked message is deleted after SentRetention.
//
// # Delivery
//
// A Sender delivers rendered messages: SMTP (STARTTLS, implicit TLS or, for
// loopback relays only, plain; optional authentication; bounded in time)
// through github.com/wneessen/go-mail, or FileSender, which writes .eml
// files for `orgkeeper dev`.
package mail
