package snapshot_test

import (
	"strings"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// A plain-http loopback issuer (what orgkeeper dev's upstream and the
// tests use) is served only when the build allows it; production refuses
// it with a problem naming the issuer.
func TestLoopbackIssuerServedOnlyWhenAllowed(t *testing.T) {
	world := func(allow bool) snapshot.Input {
		in := st.World(
			st.Org("platform"),
			st.Org("acme", st.WithParent("platform")),
			st.IdP("acme", "corp", func(i *iamv1.IdentityProvider) { i.Spec.OIDC.Issuer = "http://127.0.0.1:5556" }),
		)
		in.AllowLoopbackIssuers = allow
		return in
	}
	s, problems := snapshot.Build(world(false))
	if s.IdentityProvider("acme", "corp") != nil {
		t.Error("a plain-http issuer is served in production")
	}
	if len(problems) != 1 || problems[0].Reason != iamv1.ReasonInvalidSpec || !strings.Contains(problems[0].Message, "https") {
		t.Errorf("problems = %+v, want one InvalidSpec saying https is required", problems)
	}
	s, problems = snapshot.Build(world(true))
	if s.IdentityProvider("acme", "corp") == nil || len(problems) != 0 {
		t.Errorf("a loopback issuer is not served with AllowLoopbackIssuers (problems %+v)", problems)
	}
}
