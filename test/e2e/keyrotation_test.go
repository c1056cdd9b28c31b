package e2e

import (
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/controller/projection"
	"github.com/orgkeeper/orgkeeper/internal/devenv/linktest"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore/redistest"
)

var _ = Describe("Signing key rotation across issuer replicas", Ordered, func() {
	var (
		lb       *roundRobin
		lbIssuer string
		a, b     *replica
		// bLink carries replica b's connection to the API server; pausing
		// it keeps b on the keys it has, as a replica whose watch is
		// behind.
		bLink *linktest.Link
		conf  oauth2.Config
		// refresh is the refresh token of the one grant the spec rotates
		// on either replica to get ID tokens signed by that replica.
		refresh string
	)

	BeforeAll(func() {
		rdb := redistest.Start(GinkgoT()).Client(GinkgoT())
		holdLeaderLease() // the suite's manager leads: it owns the keys Secret

		lb, lbIssuer = startLoadBalancer()

		bLink = linktest.New(GinkgoT(), env.Config.Host)
		bCfg := rest.CopyConfig(env.Config)
		bCfg.Host = bLink.URL()
		a = startReplica("rotation-a", env.Config, lbIssuer, rdb)
		Eventually(func() error { return a.srv.Ready(nil) }).Should(Succeed(), "rotation-a never became ready")
		b = startReplica("rotation-b", bCfg, lbIssuer, rdb)
		Eventually(func() error { return b.srv.Ready(nil) }).Should(Succeed(), "rotation-b never became ready")
		// Cleanups run last first: b's link resumes before the replicas
		// stop, so that a paused link cannot keep b from stopping.
		DeferCleanup(bLink.Resume)
		lb.backends = append(lb.backends, a, b)

		p, err := gooidc.NewProvider(ctx, lbIssuer)
		Expect(err).NotTo(HaveOccurred())
		conf = portal
		conf.Endpoint = p.Endpoint()
		auth := authorize(conf)
		br := newBrowser()
		f := replicaSignIn(br, lbIssuer, replicaFollow(br, lbIssuer, br.get(auth.URL)), "alice@acme.example")
		tok, err := conf.Exchange(ctx, replicaCode(f, auth, lbIssuer), oauth2.VerifierOption(auth.Verifier))
		Expect(err).NotTo(HaveOccurred())
		refresh = tok.RefreshToken
		Expect(refresh).NotTo(BeEmpty())
	})

	// idToken refreshes the grant on replica r itself and returns the new
	// ID token, signed by r's current key.
	idToken := func(r *replica) string {
		GinkgoHelper()
		c := conf
		c.Endpoint.TokenURL = r.url.String() + "/oauth/token"
		tok, err := c.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
		Expect(err).NotTo(HaveOccurred(), "refreshing on %s", r.name)
		refresh = tok.RefreshToken
		raw, _ := tok.Extra("id_token").(string)
		Expect(raw).NotTo(BeEmpty())
		return raw
	}
	// verifyOnEvery verifies raw as a relying party does that fetches the
	// JWKS from whichever replica the balancer picks: against each
	// replica's JWKS, fetched now.
	verifyOnEvery := func(raw, issuedBy string) {
		GinkgoHelper()
		for _, r := range []*replica{a, b} {
			v := gooidc.NewVerifier(lbIssuer, gooidc.NewRemoteKeySet(ctx, r.url.String()+"/keys"),
				&gooidc.Config{ClientID: "portal", SupportedSigningAlgs: []string{gooidc.ES256}})
			_, err := v.Verify(ctx, raw)
			Expect(err).NotTo(HaveOccurred(), "an ID token signed by %s (kid %s) does not verify against the JWKS of %s", issuedBy, kid(raw), r.name)
		}
	}

	It("verify on every replica before, during and after a rotation, also while one replica has not seen it yet", func() {
		var issued []string
		for _, r := range []*replica{a, b} {
			raw := idToken(r)
			verifyOnEvery(raw, r.name)
			issued = append(issued, raw)
		}
		before := kid(issued[0])
		Expect(kid(issued[1])).To(Equal(before), "both replicas sign with the same key")

		// b falls behind: it keeps the keys it has while a sees the
		// rotation the leader writes.
		bLink.Pause()
		rotateSigningKeys()
		var rotated string
		Eventually(func() string {
			rotated = idToken(a)
			return kid(rotated)
		}).ShouldNot(Equal(before), "replica a should sign with the new key")
		verifyOnEvery(rotated, a.name+" after the rotation")
		behind := idToken(b)
		Expect(kid(behind)).To(Equal(before), "replica b has not seen the rotation yet")
		verifyOnEvery(behind, b.name+" before it saw the rotation")

		// b catches up; everything issued throughout still verifies.
		bLink.Resume()
		Eventually(func() string { return kid(idToken(b)) }).Should(Equal(kid(rotated)), "replica b should sign with the new key")
		for _, raw := range append(issued, rotated, behind, idToken(a), idToken(b)) {
			verifyOnEvery(raw, "a replica")
		}
	})
})

// rotateSigningKeys does what the leader does when the current signing keys
// are a period old: it rotates the key set in the Secret.
func rotateSigningKeys() {
	GinkgoHelper()
	secret := &corev1.Secret{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: projection.SigningKeySecret}, secret)).To(Succeed())
	set, err := keys.FromSecretData(secret.Data)
	Expect(err).NotTo(HaveOccurred())
	period := controller.DefaultKeyRotationPeriod
	// A moment past the next rotation: the set rotates as it would then.
	rotated, changed, err := keys.Rotate(set, set.NextRotation(period).Add(time.Second), period)
	Expect(err).NotTo(HaveOccurred())
	Expect(changed).To(BeTrue())
	secret.Data, err = rotated.SecretData()
	Expect(err).NotTo(HaveOccurred())
	Expect(k8s.Update(ctx, secret)).To(Succeed())
}

// kid is the key ID in a JWS's header.
func kid(raw string) string {
	GinkgoHelper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	Expect(err).NotTo(HaveOccurred())
	return jws.Signatures[0].Header.KeyID
}
