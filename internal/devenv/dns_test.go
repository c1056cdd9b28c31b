package devenv_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func TestDemoDNSPublishesTheSampleOrganizationsRecords(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := iamv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	acme := st.Ptr(st.Org("acme", st.WithParent("platform")))
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(acme).Build()
	sample := func(name string, domains ...any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "iam.orgkeeper.io/v1alpha1", "kind": "Organization",
			"metadata": map[string]any{"name": name, "namespace": "platform"},
			"spec":     map[string]any{"domains": domains},
		}}
	}
	objs := []*unstructured.Unstructured{sample("acme", "acme.example"), sample("globex", "globex.example")}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := devenv.StartDemoDNS(ctx, c, objs, "127.0.0.1:0", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	res, err := dnsverify.New(dnsverify.Config{Server: srv.Addr(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	got, err := res.LookupTXT(ctx, rules.DomainChallengeName("acme.example"))
	if want := rules.DomainVerificationValue(string(acme.UID), "acme.example"); err != nil || !slices.Equal(got, []string{want}) {
		t.Fatalf("acme.example: %q, %v; want %q", got, err, want)
	}
	for _, name := range []string{
		rules.DomainChallengeName("globex.example"), // its organization does not exist (yet)
		rules.DomainChallengeName("other.example"),  // no sample claims it
		"acme.example", // not a challenge name
	} {
		if _, err := res.LookupTXT(ctx, name); !errors.Is(err, dnsverify.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
}
