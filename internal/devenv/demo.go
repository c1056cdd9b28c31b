package devenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgkeeper/orgkeeper/internal/demoapp"
)

// DemoLogin is a sample user and the password dev made for it.
type DemoLogin struct {
	Organization, Email, Password string
}

// DemoPasswords creates, for every OrgUser among objs that has no password
// yet and whose spec.initialPasswordSecretRef names a Secret that does not
// exist, that Secret with a fresh random password, and returns the logins.
// Development only: the passwords are meant to be printed for the person
// running dev. A user that has a password already (dev restarted on its
// state directory) gets none: the operator deletes the initial password
// Secret once it is hashed, and would delete a new one unread.
func DemoPasswords(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) ([]DemoLogin, error) {
	var out []DemoLogin
	for _, obj := range objs {
		if obj.GetKind() != "OrgUser" {
			continue
		}
		name, _, _ := unstructured.NestedString(obj.Object, "spec", "initialPasswordSecretRef", "name")
		key, _, _ := unstructured.NestedString(obj.Object, "spec", "initialPasswordSecretRef", "key")
		email, _, _ := unstructured.NestedString(obj.Object, "spec", "email")
		if name == "" || key == "" {
			continue
		}
		current := &unstructured.Unstructured{}
		current.SetGroupVersionKind(obj.GroupVersionKind())
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), current)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading OrgUser %s: %w", obj.GetName(), err)
		}
		if set, _, _ := unstructured.NestedBool(current.Object, "status", "passwordSet"); err == nil && set {
			continue // its password was chosen on an earlier run; we do not know it
		}
		password := rand.Text()[:16]
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: obj.GetNamespace()},
			StringData: map[string]string{key: password},
		}
		if err := c.Create(ctx, secret); apierrors.IsAlreadyExists(err) {
			continue // someone chose this password; we do not know it
		} else if err != nil {
			return nil, fmt.Errorf("creating the demo password of %s: %w", email, err)
		}
		out = append(out, DemoLogin{Organization: obj.GetNamespace(), Email: email, Password: password})
	}
	return out, nil
}

// ServedKinds keeps the objects whose Ready condition means "served by the
// issuer": Organizations, OrgUsers, SharedApplications and
// IdentityProviders (the samples' one is the corporate provider dev runs,
// so it becomes Ready once its discovery document is fetched).
func ServedKinds(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Organization", "OrgUser", "SharedApplication", "IdentityProvider":
			out = append(out, o)
		}
	}
	return out
}

// WaitUntil polls check until it returns nil, ctx ends or timeout passes.
func WaitUntil(ctx context.Context, timeout time.Duration, check func() error) error {
	last := errors.New("not checked")
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil && ctx.Err() == nil {
		return last
	}
	return err
}

// DemoAppClient is the demo application's SharedApplication in the samples.
var DemoAppClient = types.NamespacedName{Namespace: "platform", Name: "demo-app"}

// StartDemoApp serves the demo application on addr until ctx ends, with the
// client secret the operator generated for the demo-app sample. It returns
// the application's URL.
func StartDemoApp(ctx context.Context, c client.Reader, issuer, addr string, log logr.Logger) (string, error) {
	return StartDemoAppWithClient(ctx, c, issuer, addr, nil, log)
}

// StartDemoAppWithClient is StartDemoApp with the HTTP client the demo
// application reaches the issuer with (one that trusts its CA); nil means
// http.DefaultClient.
func StartDemoAppWithClient(ctx context.Context, c client.Reader, issuer, addr string, hc *http.Client, log logr.Logger) (string, error) {
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: DemoAppClient.Namespace, Name: DemoAppClient.Name + "-oidc-client"}
	if err := c.Get(ctx, key, secret); err != nil {
		return "", fmt.Errorf("reading the demo application's client secret %s: %w", key, err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("demo application: %w", err)
	}
	base := "http://" + l.Addr().String()
	h, err := demoapp.New(ctx, demoapp.Config{
		Issuer:       issuer,
		ClientID:     DemoAppClient.Name,
		ClientSecret: string(secret.Data["client-secret"]),
		RedirectURL:  base + "/callback",
		HTTPClient:   hc,
	})
	if err != nil {
		_ = l.Close()
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(err, "demo application stopped")
		}
	}()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	return base, nil
}
