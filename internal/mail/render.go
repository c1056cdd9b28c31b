package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates/*
var builtin embed.FS

// Brand is what a message shows of the organization: its effective
// branding (snapshot.Org.Branding) and display name.
type Brand struct {
	// Name is the organization's display name.
	Name string
	// LogoURL is an https URL or empty.
	LogoURL string
	// Colours are #RRGGBB; invalid ones are replaced by defaults.
	PrimaryColor, BackgroundColor, TextColor string
}

// TemplateData is what every template gets. Templates are Go templates
// (text/template for subject and text, html/template for HTML, which
// escapes everything it inserts).
type TemplateData struct {
	Kind Kind
	// Organization is the organization's display name.
	Organization string
	// Recipient is the person's name, or their address when the name is
	// unknown; Email their address.
	Recipient, Email string
	// Link is the URL to follow.
	Link string
	// AppName is the application's name, or empty.
	AppName string
	// Expires is when the link expires, written out in UTC.
	Expires string
	// Brand is the organization's branding.
	Brand Brand
}

// Rendered is a message ready to deliver.
type Rendered struct {
	// MessageID is the Message-ID header without angle brackets.
	MessageID string
	To        string
	ToName    string
	Subject   string
	Text      string
	HTML      string
	// Date is the message's date.
	Date time.Time
}

// Template keys: a template set is keyed "<kind>.subject", "<kind>.txt" and
// "<kind>.html", in the built-in set and in an override ConfigMap alike.
func subjectKey(k Kind) string { return string(k) + ".subject" }
func textKey(k Kind) string    { return string(k) + ".txt" }
func htmlKey(k Kind) string    { return string(k) + ".html" }

// maxTemplate bounds one template's source.
const maxTemplate = 64 << 10

// Templates are the templates of every kind. The zero value (or nil) uses
// the built-in ones.
type Templates struct {
	subject map[Kind]*texttemplate.Template
	text    map[Kind]*texttemplate.Template
	html    map[Kind]*htmltemplate.Template
}

// ParseTemplates parses overrides, keyed as described above (other keys
// are an error, so that a typo does not silently keep the built-in
// template). A key that is absent keeps the built-in template, so a vendor
// may override only the HTML of invitations, say.
func ParseTemplates(overrides map[string]string) (*Templates, error) {
	t := &Templates{subject: map[Kind]*texttemplate.Template{}, text: map[Kind]*texttemplate.Template{}, html: map[Kind]*htmltemplate.Template{}}
	known := map[string]bool{}
	var errs []error
	for _, k := range Kinds {
		known[subjectKey(k)], known[textKey(k)], known[htmlKey(k)] = true, true, true
		src := func(key string) string {
			if s, ok := overrides[key]; ok {
				return s
			}
			b, err := builtin.ReadFile("templates/" + key)
			if err != nil {
				panic(err) // embedded at build time
			}
			return string(b)
		}
		for _, key := range []string{subjectKey(k), textKey(k), htmlKey(k)} {
			if len(src(key)) > maxTemplate {
				errs = append(errs, fmt.Errorf("template %s is larger than %d bytes", key, maxTemplate))
			}
		}
		var err error
		if t.subject[k], err = texttemplate.New(subjectKey(k)).Option("missingkey=error").Parse(src(subjectKey(k))); err != nil {
			errs = append(errs, err)
		}
		if t.text[k], err = texttemplate.New(textKey(k)).Option("missingkey=error").Parse(src(textKey(k))); err != nil {
			errs = append(errs, err)
		}
		if t.html[k], err = htmltemplate.New(htmlKey(k)).Option("missingkey=error").Parse(src(htmlKey(k))); err != nil {
			errs = append(errs, err)
		}
	}
	for key := range overrides {
		if !known[key] {
			errs = append(errs, fmt.Errorf("unknown template key %q (use <kind>.subject, <kind>.txt or <kind>.html with kind one of %v)", key, Kinds))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// Builtin are the built-in templates.
var Builtin = func() *Templates {
	t, err := ParseTemplates(nil)
	if err != nil {
		panic(err) // embedded at build time: the built-in templates parse
	}
	return t
}()

// maxRendered bounds a rendered part, so that a template cannot make a
// message of unbounded size.
const maxRendered = 256 << 10

// Render renders m with templates t (nil: Builtin) for the organization's
// brand.
func (t *Templates) Render(m *Message, b Brand) (*Rendered, error) {
	if t == nil {
		t = Builtin
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b = b.withDefaults()
	if b.Name == "" {
		b.Name = m.Organization
	}
	d := TemplateData{
		Kind: m.Kind, Organization: b.Name, Recipient: m.ToName, Email: m.To,
		Link: m.Link, AppName: m.AppName, Brand: b,
		Expires: m.ExpiresAt.UTC().Format("Monday, 2 January 2006 at 15:04 UTC"),
	}
	if d.Recipient == "" {
		d.Recipient = m.To
	}
	var subj, text, html bytes.Buffer
	if err := t.subject[m.Kind].Execute(&limited{&subj}, d); err != nil {
		return nil, fmt.Errorf("rendering the subject: %w", err)
	}
	if err := t.text[m.Kind].Execute(&limited{&text}, d); err != nil {
		return nil, fmt.Errorf("rendering the text part: %w", err)
	}
	if err := t.html[m.Kind].Execute(&limited{&html}, d); err != nil {
		return nil, fmt.Errorf("rendering the HTML part: %w", err)
	}
	// A subject is one line: a template that renders line breaks must not
	// add headers.
	subject := strings.Join(strings.Fields(subj.String()), " ")
	return &Rendered{
		MessageID: m.ID + "@orgkeeper",
		To:        m.To, ToName: m.ToName,
		Subject: subject, Text: text.String(), HTML: html.String(),
		Date: m.CreatedAt,
	}, nil
}

// limited is a writer that refuses to grow past maxRendered.
type limited struct{ b *bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if l.b.Len()+len(p) > maxRendered {
		return 0, fmt.Errorf("the rendered message is larger than %d bytes", maxRendered)
	}
	return l.b.Write(p)
}

// Defaults for colours that are missing or not #RRGGBB: they end up in
// style attributes, so only validated values are used.
const (
	defaultPrimary    = "#2F4F7F"
	defaultBackground = "#F7F7F8"
	defaultText       = "#1F2328"
)

func (b Brand) withDefaults() Brand {
	b.PrimaryColor = colorOr(b.PrimaryColor, defaultPrimary)
	b.BackgroundColor = colorOr(b.BackgroundColor, defaultBackground)
	b.TextColor = colorOr(b.TextColor, defaultText)
	if !strings.HasPrefix(b.LogoURL, "https://") || strings.ContainsAny(b.LogoURL, "\"'<> \r\n") {
		b.LogoURL = ""
	}
	return b
}

func colorOr(s, fallback string) string {
	if len(s) != 7 || s[0] != '#' {
		return fallback
	}
	for _, c := range s[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return fallback
		}
	}
	return strings.ToUpper(s)
}
