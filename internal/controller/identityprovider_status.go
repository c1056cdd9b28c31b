package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// idpOutcome collects what one reconcile pass of an IdentityProvider found;
// setIdPConditions turns it into conditions.
type idpOutcome struct {
	organization check // the provider lives in an organization's namespace
	secret       check // the client secret exists (or none is needed)
	discovery    check // the issuer's discovery document is fetched and usable
	served       check // the OIDC server serves this generation, without Problems
	// recheck is when the next discovery attempt is due.
	recheck time.Duration
	// err is an unexpected error that ends the pass; it is retried.
	err error
}

// readyChecks is the ordered chain that decides Ready: a provider whose
// discovery fails cannot sign anyone in, so it is not Ready.
func (o *idpOutcome) readyChecks() []check {
	return []check{o.organization, o.secret, o.discovery, o.served}
}

// setIdPConditions sets SecretFound, DiscoveryReady and Ready.
func setIdPConditions(idp *iamv1.IdentityProvider, out *idpOutcome) {
	gen := idp.Generation
	set := func(c metav1.Condition) { meta.SetStatusCondition(&idp.Status.Conditions, c) }
	set(conditionOf(iamv1.ConditionSecretFound, gen, out.secret, out.organization))
	set(conditionOf(iamv1.ConditionDiscoveryReady, gen, out.discovery, out.organization))
	set(readyCondition(gen, out.readyChecks(), out.err,
		"the provider's discovery works, its configuration is valid and the OIDC server serves it"))
}

// idpSecretCheck decides SecretFound from the Secret named by
// spec.oidc.clientSecretRef (nil: not found). Only names appear in the
// message, never a value.
func idpSecretCheck(namespace string, ref *iamv1.SecretKeyReference, s *corev1.Secret) check {
	switch {
	case ref == nil:
		return passed(iamv1.ReasonReconciled, "no client secret is needed: spec.oidc.clientSecretRef is unset, so Orgkeeper is a public client using PKCE")
	case s == nil:
		return failed(iamv1.ReasonSecretNotFound,
			"Secret %q (spec.oidc.clientSecretRef) does not exist in namespace %q; create it with the client secret the provider issued under the key %q",
			ref.Name, namespace, ref.Key)
	case len(s.Data[ref.Key]) == 0 && s.StringData[ref.Key] == "":
		return failed(iamv1.ReasonSecretNotFound,
			"Secret %q (spec.oidc.clientSecretRef) has no key %q or it is empty; put the client secret the provider issued there", ref.Name, ref.Key)
	}
	return passed(iamv1.ReasonReconciled, "Secret %q has the client secret under the key %q", ref.Name, ref.Key)
}
