package login

import (
	"net/http"
	"strings"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// The organization step (api.md 7): organization= from the client, else a
// login_hint whose domain an organization has verified, else the SSO
// session's organization, else the identifier-first form. Once an
// organization is recorded the step is over: the identifier form cannot
// switch to another one (loadPost refuses a form for a finished step), and
// an organization the client asked for is final.

// enterOrganization runs while no served organization is recorded.
func enterOrganization(h *Handler, w http.ResponseWriter, r *http.Request, f *flow) {
	ar := f.ar
	if ar.Organization != "" {
		// Recorded but not served: the client asked for one that does not
		// exist (or no longer does). It is final; say so.
		h.renderProblem(w, problemUnknownOrg, neutralBrand(), f.appName, "")
		return
	}
	if org, ok := f.dir.orgForEmail(ar.LoginHint); ok {
		h.chooseOrganization(w, r, f, org)
		return
	}
	// A browser already signed in continues with its session's
	// organization, unless the client asks to choose again.
	if !hasPrompt(ar, "login") && !hasPrompt(ar, "select_account") {
		if s, ok := h.loginSession(r); ok {
			if org, ok := f.dir.orgByID(s.OrgID); ok {
				h.chooseOrganization(w, r, f, org)
				return
			}
		}
	}
	if hasPrompt(ar, "none") {
		h.redirectError(w, r, ar, "login_required", "The user is not signed in.")
		return
	}
	h.renderIdentifier(w, r, f, ar.LoginHint, "", false, "")
}

// postIdentifier is POST /login/identifier: route the typed email by its
// domain, or take the typed organization handle.
func (h *Handler) postIdentifier(w http.ResponseWriter, r *http.Request) {
	f, ok := h.loadPost(w, r, stepOrganization)
	if !ok {
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	handle := strings.TrimSpace(r.PostFormValue("organization"))
	f.username = username
	if handle != "" {
		org, ok := f.dir.org(strings.ToLower(handle))
		if !ok {
			h.renderIdentifier(w, r, f, username, handle, true,
				"There is no organization with the handle “"+handle+"”. Check it with your administrator.")
			return
		}
		h.chooseOrganization(w, r, f, org)
		return
	}
	if username == "" {
		h.renderIdentifier(w, r, f, "", "", false, msgMissingEmail)
		return
	}
	if org, ok := f.dir.orgForEmail(username); ok {
		h.chooseOrganization(w, r, f, org)
		return
	}
	h.renderIdentifier(w, r, f, username, "", true, "")
}

// chooseOrganization records the organization and goes on.
func (h *Handler) chooseOrganization(w http.ResponseWriter, r *http.Request, f *flow, org orgView) {
	if !h.update(w, r, f, "recording the organization", func(a *session.AuthRequest) {
		if a.Organization == "" {
			a.Organization = org.Name
		}
	}) {
		return
	}
	h.advance(w, r, f)
}
