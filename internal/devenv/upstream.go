package devenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/server"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// The corporate identity provider that `orgkeeper dev` runs for globex.
//
// It is a second Orgkeeper issuer (internal/server: the real login pages,
// password verification and token signing) serving a fixed world of its
// own: one organization with globex's email domain, a few employees with
// random passwords and one confidential client, the Orgkeeper under
// development. It needs no API server: its snapshot is built once, in
// process, from objects made here. So a newcomer sees federation work
// against a provider that checks passwords and signs tokens as any real one
// does, with nothing to install.
//
// Its issuer names the host "localhost" while the development issuer and
// the demo application use 127.0.0.1: browsers keep cookies per host name,
// not per port, and the two Orgkeeper issuers use the same cookie names.

// Names of the corporate provider's world and of the sample that uses it.
const (
	// UpstreamIdentityProvider is the IdentityProvider sample (in globex)
	// that signs in at the corporate provider.
	UpstreamIdentityProvider = "globex-sso"
	// UpstreamOrganization is the sample organization whose provider it is.
	UpstreamOrganization = "globex"
	// UpstreamDomain is the email domain of the corporate provider's users.
	UpstreamDomain = "globex.example"
	// UpstreamClientID is the client that stands for the development
	// issuer at the corporate provider (the sample's spec.oidc.clientID).
	UpstreamClientID = "orgkeeper"

	upstreamNamespace = "globex-corp-sso"
	upstreamOrg       = "globex-corp"
)

// UpstreamUser is an account at the corporate provider.
type UpstreamUser struct {
	// Name is the local part of the email; the email is Name@UpstreamDomain.
	Name        string
	DisplayName string
	GivenName   string
	FamilyName  string
	// Groups are the groups the provider puts in its tokens.
	Groups []string
}

// Email is the user's email address.
func (u UpstreamUser) Email() string { return u.Name + "@" + UpstreamDomain }

// DefaultUpstreamUsers are the corporate provider's employees: gabe, who is
// also a local user of globex in the samples (his first corporate sign-in
// links the two, as his email is verified in globex's domain), and two who
// exist only at the provider and are created in globex on first sign-in.
var DefaultUpstreamUsers = []UpstreamUser{
	{Name: "gabe", DisplayName: "Gabe Globex", GivenName: "Gabe", FamilyName: "Globex", Groups: []string{"engineering"}},
	{Name: "grace", DisplayName: "Grace Hopper", GivenName: "Grace", FamilyName: "Hopper", Groups: []string{"engineering", "architects"}},
	{Name: "hank", DisplayName: "Hank Scorpio", GivenName: "Hank", FamilyName: "Scorpio", Groups: []string{"sales"}},
}

// UpstreamOptions configure StartUpstream.
type UpstreamOptions struct {
	// Addr is the loopback address to listen on (":0" style ports allowed);
	// the issuer is http://localhost:<port>.
	Addr string
	// RedirectURI is the development issuer's upstream callback, the one
	// redirect URI the corporate provider accepts for UpstreamClientID.
	RedirectURI string
	// Users are the accounts; nil means DefaultUpstreamUsers.
	Users []UpstreamUser
	// Log receives the server's errors.
	Log logr.Logger
}

// Upstream is the running corporate provider.
type Upstream struct {
	// Issuer is its issuer URL, http://localhost:<port>.
	Issuer string
	// ClientSecret is UpstreamClientID's secret, generated at start.
	ClientSecret string
	// Logins are the users and the passwords generated for them at start,
	// for dev to print (development only).
	Logins []DemoLogin

	done chan struct{}
}

// Done is closed once the provider has stopped.
func (u *Upstream) Done() <-chan struct{} { return u.done }

// StartUpstream starts the corporate provider on opts.Addr, serving until
// ctx ends.
func StartUpstream(ctx context.Context, opts UpstreamOptions) (*Upstream, error) {
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	if opts.Users == nil {
		opts.Users = DefaultUpstreamUsers
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("--upstream-addr %q: %w", opts.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--upstream-addr %q: the development identity provider serves plain http, so only on a loopback address", opts.Addr)
	}
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("globex's corporate identity provider (--upstream-addr, \"\" for none): %w", err)
	}
	up := &Upstream{
		Issuer:       fmt.Sprintf("http://localhost:%d", l.Addr().(*net.TCPAddr).Port),
		ClientSecret: rand.Text(),
		done:         make(chan struct{}),
	}
	in, logins, err := upstreamWorld(opts.RedirectURI, up.ClientSecret, opts.Users, time.Now())
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	up.Logins = logins
	snap, problems := snapshot.Build(in)
	if len(problems) > 0 {
		_ = l.Close()
		p := problems[0]
		return nil, fmt.Errorf("corporate identity provider: %s: %s", p.Object, p.Message)
	}
	snaps := &snapshot.Store{}
	snaps.Set(snap)
	ks, err := keys.NewKeySet(time.Now())
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	srv, err := server.New(server.Config{
		Issuer:    up.Issuer,
		Listener:  l,
		Snapshots: snaps,
		Keys:      staticKeySet{ks},
		Log:       opts.Log,
	})
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	go func() {
		defer close(up.done)
		if err := srv.Start(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Log.Error(err, "the corporate identity provider stopped")
		}
	}()
	return up, nil
}

// staticKeySet serves one signing key set for the provider's life: dev's
// provider lives as long as the dev process.
type staticKeySet struct{ ks *keys.KeySet }

func (s staticKeySet) KeySet() *keys.KeySet { return s.ks }

// upstreamWorld is the corporate provider's snapshot input and its users'
// fresh passwords.
func upstreamWorld(redirectURI, clientSecret string, users []UpstreamUser, now time.Time) (snapshot.Input, []DemoLogin, error) {
	meta := func(namespace, name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Namespace: namespace, Name: name, Generation: 1,
			UID:               types.UID(fmt.Sprintf("devsso-%s-%s", namespace, name)),
			CreationTimestamp: metav1.NewTime(now),
		}
	}
	org := iamv1.Organization{
		ObjectMeta: meta(upstreamNamespace, upstreamOrg),
		Spec: iamv1.OrganizationSpec{
			DisplayName: "Globex Corporate Sign-In",
			Description: "Globex's own identity provider (orgkeeper dev).",
			Domains:     []iamv1.Domain{UpstreamDomain},
			Branding:    &iamv1.Branding{PrimaryColor: "#0B7A3B"},
		},
	}
	// The status the Organization reconciler would write: a root, with its
	// domain verified (this provider is the domain's owner).
	org.Status = iamv1.OrganizationStatus{
		Path: []string{upstreamOrg}, Namespace: upstreamOrg, ID: string(org.UID),
		Domains: []iamv1.DomainStatus{{Name: UpstreamDomain, Verified: true}},
	}
	// And the namespace it would make, which places the root.
	orgNamespace := *rules.NewNamespace(&org)
	app := iamv1.SharedApplication{
		ObjectMeta: meta(upstreamOrg, UpstreamClientID),
		Spec: iamv1.SharedApplicationSpec{
			DisplayName:  "Orgkeeper (development)",
			RedirectURIs: []string{redirectURI},
		},
	}
	in := snapshot.Input{
		SystemNamespace: upstreamNamespace,
		Version:         1,
		Now:             now,
		Organizations:   []iamv1.Organization{org},
		Namespaces:      []corev1.Namespace{orgNamespace},
		Applications:    []iamv1.SharedApplication{app},
		Secrets: []corev1.Secret{{
			ObjectMeta: metav1.ObjectMeta{Namespace: upstreamOrg, Name: snapshot.GeneratedClientSecretName(UpstreamClientID)},
			Data:       map[string][]byte{snapshot.ClientSecretKey: []byte(clientSecret)},
		}},
	}
	var logins []DemoLogin
	for _, u := range users {
		user := iamv1.OrgUser{
			ObjectMeta: meta(upstreamOrg, u.Name),
			Spec: iamv1.OrgUserSpec{
				Email: u.Email(), EmailVerified: true,
				DisplayName: u.DisplayName, GivenName: u.GivenName, FamilyName: u.FamilyName,
				Groups: u.Groups,
			},
		}
		password := rand.Text()[:16]
		hash, err := credentials.Hash(password)
		if err != nil {
			return snapshot.Input{}, nil, err
		}
		in.Users = append(in.Users, user)
		in.Secrets = append(in.Secrets, corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: upstreamNamespace,
				Name:      snapshot.CredentialSecretName(string(user.UID)),
				Labels:    map[string]string{snapshot.LabelCredentialUser: string(user.UID)},
			},
			Data: map[string][]byte{snapshot.CredentialPasswordKey: []byte(hash)},
		})
		logins = append(logins, DemoLogin{Organization: UpstreamOrganization, Email: u.Email(), Password: password})
	}
	return in, logins, nil
}

// UpstreamRedirectURI is the redirect URI of the development issuer's
// upstream sign-in, to register at the corporate provider.
func UpstreamRedirectURI(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + login.PathUpstreamCallback
}

// PointSamplesAtUpstream makes the globex-sso IdentityProvider sample use
// the running corporate provider: its issuer, and its client secret in the
// Secret the sample references. It reports whether the samples have that
// provider.
func PointSamplesAtUpstream(objs []*unstructured.Unstructured, up *Upstream) (bool, error) {
	var secretName, secretKey string
	found := false
	for _, o := range objs {
		if !isUpstreamSample(o) {
			continue
		}
		if err := unstructured.SetNestedField(o.Object, up.Issuer, "spec", "oidc", "issuer"); err != nil {
			return false, err
		}
		secretName, _, _ = unstructured.NestedString(o.Object, "spec", "oidc", "clientSecretRef", "name")
		secretKey, _, _ = unstructured.NestedString(o.Object, "spec", "oidc", "clientSecretRef", "key")
		found = true
	}
	if !found {
		return false, nil
	}
	if secretName == "" || secretKey == "" {
		return false, fmt.Errorf("the %s/%s sample has no spec.oidc.clientSecretRef", UpstreamOrganization, UpstreamIdentityProvider)
	}
	for _, o := range objs {
		if o.GetKind() == "Secret" && o.GetNamespace() == UpstreamOrganization && o.GetName() == secretName {
			unstructured.RemoveNestedField(o.Object, "data")
			if err := unstructured.SetNestedStringMap(o.Object, map[string]string{secretKey: up.ClientSecret}, "stringData"); err != nil {
				return false, err
			}
			return true, nil
		}
	}
	return false, fmt.Errorf("the %s/%s sample's Secret %s is not among the samples", UpstreamOrganization, UpstreamIdentityProvider, secretName)
}

// WithoutUpstreamSample drops the globex-sso IdentityProvider (and its
// Secret) from objs, and its name from globex's spec.login, for a dev run
// without the corporate provider: it would point at nothing, and globex
// would list a provider that is not served.
func WithoutUpstreamSample(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var secretName string
	for _, o := range objs {
		if isUpstreamSample(o) {
			secretName, _, _ = unstructured.NestedString(o.Object, "spec", "oidc", "clientSecretRef", "name")
		}
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		switch {
		case isUpstreamSample(o),
			o.GetKind() == "Secret" && o.GetNamespace() == UpstreamOrganization && o.GetName() == secretName:
			continue
		case o.GetKind() == "Organization" && o.GetName() == UpstreamOrganization:
			names, found, _ := unstructured.NestedStringSlice(o.Object, "spec", "login", "identityProviders")
			if found {
				o = o.DeepCopy()
				kept := slices.DeleteFunc(names, func(n string) bool { return n == UpstreamIdentityProvider })
				if len(kept) == 0 {
					unstructured.RemoveNestedField(o.Object, "spec", "login", "identityProviders")
				} else if err := unstructured.SetNestedStringSlice(o.Object, kept, "spec", "login", "identityProviders"); err != nil {
					continue // unreachable: spec.login is a map, as NestedStringSlice found
				}
			}
		}
		out = append(out, o)
	}
	return out
}

func isUpstreamSample(o *unstructured.Unstructured) bool {
	return o.GetKind() == "IdentityProvider" && o.GetNamespace() == UpstreamOrganization && o.GetName() == UpstreamIdentityProvider
}
