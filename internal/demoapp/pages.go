package demoapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"slices"
	"strings"
	"time"
)

type homeData struct {
	Issuer, ClientID, Hint string
	SignedIn               bool
}

type meData struct {
	IDToken, Userinfo []claimRow
	UserinfoError     string
	AccessExpiry      time.Time
	AccessExpiresIn   time.Duration
	RefreshToken      string
	HasRefresh        bool
	Refresh           *refreshData
}

type refreshData struct {
	At               time.Time
	Old, New         string
	Rotated          bool
	NewIDToken       bool
	PreviousATExpiry time.Time
}

type errorData struct {
	Title, Message     string
	Error, Description string // OAuth error and error_description
	Detail             string
}

type claimRow struct {
	Name, Value string
	Orgkeeper   bool // one of the claims api.md section 7 adds
}

// claimOrder puts Orgkeeper's claims first, then the profile, then the
// rest alphabetically.
var claimOrder = []string{
	"org_id", "org_handle", "org_name", "org_path", "roles", "groups",
	"sub", "email", "email_verified", "name", "given_name", "family_name", "preferred_username", "amr",
}

var orgkeeperClaims = map[string]bool{"org_id": true, "org_handle": true, "org_name": true, "org_path": true, "roles": true, "groups": true}

var timeClaims = map[string]bool{"exp": true, "iat": true, "nbf": true, "auth_time": true, "updated_at": true}

func claimRows(claims map[string]any) []claimRow {
	names := make([]string, 0, len(claims))
	for k := range claims {
		names = append(names, k)
	}
	rank := func(n string) int {
		if i := slices.Index(claimOrder, n); i >= 0 {
			return i
		}
		return len(claimOrder)
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	rows := make([]claimRow, 0, len(names))
	for _, n := range names {
		rows = append(rows, claimRow{Name: n, Value: claimValue(n, claims[n]), Orgkeeper: orgkeeperClaims[n]})
	}
	return rows
}

func claimValue(name string, v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		if timeClaims[name] {
			return fmt.Sprintf("%.0f (%s)", v, time.Unix(int64(v), 0).UTC().Format(time.RFC3339))
		}
		return fmt.Sprint(v)
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				parts = append(parts, s)
			} else {
				parts = append(parts, claimValue("", e))
			}
		}
		if len(parts) == 0 {
			return "(empty list)"
		}
		return strings.Join(parts, ", ")
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}

func (a *app) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		log.Printf("demoapp: rendering %s: %v", name, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (a *app) fail(w http.ResponseWriter, status int, data errorData) {
	a.render(w, status, "error", data)
}

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"rfc3339": func(t time.Time) string {
		if t.IsZero() {
			return "(none)"
		}
		return t.UTC().Format(time.RFC3339)
	},
}).Parse(pageTemplates))

const pageTemplates = `
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} · Orgkeeper demo application</title>
<style>
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2330;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #dde1e8}
th{width:12rem;font-family:ui-monospace,monospace;font-weight:normal}
tr.org th{font-weight:bold;color:#0b5cad}
td{font-family:ui-monospace,monospace;word-break:break-all}
.box{border:1px solid #dde1e8;border-radius:.4rem;padding:1rem;background:#f7f8fa}
.error{border-color:#d33;background:#fff4f4}
form{display:inline-block;margin-right:.5rem}
input[type=text]{padding:.4rem;width:18rem}
button{padding:.45rem 1rem;border:0;border-radius:.3rem;background:#0b5cad;color:#fff;cursor:pointer}
button.secondary{background:#59606d}
.muted{color:#59606d;font-size:.9rem}
code{font-family:ui-monospace,monospace}
</style></head><body>
{{end}}
{{define "foot"}}<p class="muted">A relying party built with go-oidc and golang.org/x/oauth2, served by <code>orgkeeper dev</code>.</p></body></html>
{{end}}

{{define "home"}}{{template "head" "Welcome"}}
<h1>Orgkeeper demo application</h1>
<p>This is a small application of the vendor, registered once in the root
organization and shared with the customer organizations. It signs you in
through the Orgkeeper issuer with the authorization code flow (PKCE) and shows
what it receives: the ID token's claims (<code>org_handle</code>,
<code>roles</code>, <code>groups</code>…), the userinfo response and the
tokens' lifetimes.</p>
<p class="muted">Issuer <code>{{.Issuer}}</code>, client <code>{{.ClientID}}</code>.</p>
{{if .SignedIn}}<p class="box">You are signed in. <a href="/me">See your claims</a>.</p>{{end}}
<form method="get" action="/login" class="box">
<p><label for="hint">Email or organization (optional)</label><br>
<input type="text" id="hint" name="hint" value="{{.Hint}}" placeholder="alice@acme.example or acme" autocomplete="email"></p>
<p class="muted">An email is sent as <code>login_hint</code> (its domain may choose the
organization); anything else is sent as the <code>organization</code> parameter.
Leave it empty to choose on the issuer's page.</p>
<button type="submit">Sign in</button>
</form>
{{template "foot"}}{{end}}

{{define "claims"}}<table>{{range .}}<tr{{if .Orgkeeper}} class="org"{{end}}><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}</table>{{end}}

{{define "me"}}{{template "head" "Your claims"}}
<h1>Signed in</h1>
<form method="post" action="/refresh"><button type="submit"{{if not .HasRefresh}} disabled{{end}}>Refresh tokens</button></form>
<form method="post" action="/logout"><button type="submit" class="secondary">Sign out</button></form>
{{with .Refresh}}<div class="box" id="refresh">
<p><strong>Tokens refreshed</strong> at {{rfc3339 .At}}.
{{if .Rotated}}The refresh token <strong>rotated</strong>: <code>{{.Old}}</code> → <code>{{.New}}</code> (the old one is now spent; using it again revokes the whole family).
{{else}}The refresh token did <strong>not</strong> rotate (<code>{{.Old}}</code>).{{end}}
{{if .NewIDToken}}A new ID token was issued; the claims below are its claims.{{end}}
The previous access token expired at {{rfc3339 .PreviousATExpiry}}.</p>
</div>{{end}}
<h2>ID token</h2>
{{template "claims" .IDToken}}
<h2>Userinfo</h2>
{{if .UserinfoError}}<p class="box error">The userinfo endpoint refused: {{.UserinfoError}}</p>{{else}}{{template "claims" .Userinfo}}{{end}}
<h2>Tokens</h2>
<table>
<tr><th>access token expires</th><td>{{rfc3339 .AccessExpiry}} (in {{.AccessExpiresIn}})</td></tr>
<tr><th>refresh token</th><td>{{.RefreshToken}} <span class="muted">(fingerprint)</span></td></tr>
</table>
{{template "foot"}}{{end}}

{{define "error"}}{{template "head" .Title}}
<h1>{{.Title}}</h1>
<div class="box error">
<p>{{.Message}}</p>
{{if .Error}}<table><tr><th>error</th><td>{{.Error}}</td></tr>{{if .Description}}<tr><th>error_description</th><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Detail}}<p class="muted">{{.Detail}}</p>{{end}}
</div>
<p><a href="/">Back to the demo application</a></p>
{{template "foot"}}{{end}}
`
