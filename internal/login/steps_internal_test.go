package login

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func TestNextStepFollowsWhatTheAuthRequestRecordedAndThePolicy(t *testing.T) {
	optional := &orgView{Name: "acme", Password: true}
	required := &orgView{Name: "strict", Password: true, MFA: iamv1.MFARequired}
	signedIn := func(amr ...string) session.AuthRequest {
		return session.AuthRequest{Organization: "acme", UserID: "u1", AMR: amr}
	}
	cases := []struct {
		name string
		ar   session.AuthRequest
		org  *orgView
		want step
	}{
		{"a new request chooses its organization first", session.AuthRequest{}, nil, stepOrganization},
		{"a recorded organization that is not served is still the organization step (it says so)", session.AuthRequest{Organization: "gone"}, nil, stepOrganization},
		{"with the organization chosen, a method authenticates the user", session.AuthRequest{Organization: "acme"}, optional, stepMethod},
		{"a password sign-in in an organization with MFA Optional is done", signedIn("pwd"), optional, stepDone},
		{"a password sign-in in an organization with MFA Required needs a second factor", signedIn("pwd"), required, stepSecondFactor},
		{"a sign-in without any amr in an organization with MFA Required needs a second factor", signedIn(), required, stepSecondFactor},
		{"a sign-in with a one-time password satisfies MFA Required", signedIn("pwd", "otp"), required, stepDone},
		{"a sign-in that an upstream reported as multi-factor satisfies MFA Required", signedIn("mfa"), required, stepDone},
		{"a sign-in with a hardware key satisfies MFA Required", signedIn("hwk"), required, stepDone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := nextStep(c.ar, c.org); got != c.want {
				t.Errorf("nextStep = %s, want %s", got, c.want)
			}
		})
	}
}

// TestEveryStepHasAStage: advance can enter whatever nextStep returns.
func TestEveryStepHasAStage(t *testing.T) {
	stages := defaultStages()
	for _, s := range []step{stepOrganization, stepMethod, stepSecondFactor, stepDone} {
		if stages[s] == nil {
			t.Errorf("no stage for step %s", s)
		}
	}
}

// TestAdvanceDrivesTheSequenceThroughTheStages replaces every stage with one
// that records itself and does its step's work on the auth request, then
// lets advance run the whole sequence for each policy.
func TestAdvanceDrivesTheSequenceThroughTheStages(t *testing.T) {
	for _, c := range []struct {
		name   string
		mfa    iamv1.MFAPolicy
		amr    []string
		wanted []step
	}{
		{"MFA Optional: organization, method, done", iamv1.MFAOptional, []string{"pwd"}, []step{stepOrganization, stepMethod, stepDone}},
		{"MFA Disabled: organization, method, done", iamv1.MFADisabled, []string{"pwd"}, []step{stepOrganization, stepMethod, stepDone}},
		{"MFA Required with a password: organization, method, second factor, done", iamv1.MFARequired, []string{"pwd"}, []step{stepOrganization, stepMethod, stepSecondFactor, stepDone}},
		{"MFA Required with a method that was multi-factor: organization, method, done", iamv1.MFARequired, []string{"mfa"}, []step{stepOrganization, stepMethod, stepDone}},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap, _ := snapshot.Build(st.World(st.Org("platform"), st.Org("acme", st.WithParent("platform"), st.WithMFA(c.mfa))))
			var got []step
			h := &Handler{}
			record := func(s step, work func(*session.AuthRequest)) stage {
				return stageFunc(func(h *Handler, w http.ResponseWriter, r *http.Request, f *flow) {
					got = append(got, s)
					if work != nil {
						work(&f.ar)
						h.advance(w, r, f)
					}
				})
			}
			h.stages = map[step]stage{
				stepOrganization: record(stepOrganization, func(a *session.AuthRequest) { a.Organization = "acme" }),
				stepMethod:       record(stepMethod, func(a *session.AuthRequest) { a.UserID, a.AMR = "u1", c.amr }),
				stepSecondFactor: record(stepSecondFactor, func(a *session.AuthRequest) { a.AMR = append(a.AMR, "otp") }),
				stepDone:         record(stepDone, nil),
			}
			h.advance(httptest.NewRecorder(), httptest.NewRequest("GET", "/login", nil), &flow{dir: directory{snap}})
			if !slices.Equal(got, c.wanted) {
				t.Errorf("steps %v, want %v", got, c.wanted)
			}
		})
	}
}
