package login

import (
	"net/http"

	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/session"
)

// A sign-in is a sequence of steps, decided by the organization's effective
// login policy:
//
//	organization -> method -> second factor -> done
//
// Each step is a stage: a small handler whose state lives in the auth
// request (session.AuthRequest), never in the handler or the browser. Which
// step a sign-in is at follows from that state alone (nextStep), so any
// replica can serve any request, a reload shows the same step, and a form
// posted for another step does not act. A step that has done its work
// records it in the auth request and calls advance, which enters the next
// one. Adding a step (an upstream identity provider's callback, a TOTP
// prompt) adds a stage and a case to nextStep, and touches no other stage.

// step names one step of a sign-in.
type step string

const (
	// stepOrganization chooses the organization: organization=, a
	// login_hint's verified domain, the SSO session's, or the identifier
	// form. State: AuthRequest.Organization (OrganizationRequested when the
	// client chose it, which makes it final).
	stepOrganization step = "organization"
	// stepMethod authenticates the user with a method the organization
	// offers: an SSO session, or a password (an upstream identity provider
	// with the federation issue). State: UserID, OrgID, AuthTime, AMR, and
	// LoginSessionID when an SSO session did it.
	stepMethod step = "method"
	// stepSecondFactor asks for a second factor when the policy requires
	// one and AMR has none. There is no second factor yet: it refuses.
	stepSecondFactor step = "second-factor"
	// stepDone starts the SSO session if the sign-in made a new one, marks
	// the auth request Done and sends the browser to the callback.
	stepDone step = "done"
)

// nextStep is the step a sign-in is at, given what its auth request has
// recorded and its organization's policy (org is nil while the
// organization is not chosen or not served). It is the whole sequence in
// one pure function.
func nextStep(ar session.AuthRequest, org *orgView) step {
	switch {
	case org == nil:
		return stepOrganization
	case ar.UserID == "":
		return stepMethod
	case !rules.AMRSatisfies(org.MFA, ar.AMR):
		return stepSecondFactor
	default:
		return stepDone
	}
}

// step is the step the flow is at.
func (f *flow) step() step {
	if org, ok := f.org(); ok {
		return nextStep(f.ar, &org)
	}
	return nextStep(f.ar, nil)
}

// stage is one step's handler. enter runs when the sign-in reaches the
// step (GET /login, or right after the step before it): it shows the
// step's page, or does the step's work at once, records it in the auth
// request and calls advance.
type stage interface {
	enter(h *Handler, w http.ResponseWriter, r *http.Request, f *flow)
}

// stageFunc adapts a function to stage.
type stageFunc func(h *Handler, w http.ResponseWriter, r *http.Request, f *flow)

func (s stageFunc) enter(h *Handler, w http.ResponseWriter, r *http.Request, f *flow) { s(h, w, r, f) }

// defaultStages are the stages of every Handler.
func defaultStages() map[step]stage {
	return map[step]stage{
		stepOrganization: stageFunc(enterOrganization),
		stepMethod:       stageFunc(enterMethod),
		stepSecondFactor: stageFunc(enterSecondFactor),
		stepDone:         stageFunc(enterDone),
	}
}

// advance enters the step the sign-in is at now.
func (h *Handler) advance(w http.ResponseWriter, r *http.Request, f *flow) {
	s, ok := h.stages[f.step()]
	if !ok {
		h.cfg.Log.Error(nil, "no stage for step", "step", f.step())
		h.renderProblem(w, problemUnavailable, neutralBrand(), "", "")
		return
	}
	s.enter(h, w, r, f)
}
