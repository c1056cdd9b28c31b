package devenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// IssuerTLS is the certificate authority and serving certificate with which
// `orgkeeper dev` serves its issuer over HTTPS: kube-apiserver trusts only
// https issuers. The CA is made fresh for every start and its key is never
// written, so the CA can sign nothing else.
type IssuerTLS struct {
	// CAFile is <state-dir>/issuer-ca.crt: give it to kubectl-org
	// (--certificate-authority) or import it into a browser.
	CAFile string
	// CertFile and KeyFile are the issuer's serving certificate (for
	// 127.0.0.1, ::1 and localhost) and key.
	CertFile, KeyFile string
	// CA is the CA certificate, PEM.
	CA []byte

	pool *x509.CertPool
}

// WriteIssuerTLS makes a CA and a serving certificate for loopback and
// writes them into dir (the key 0600).
func WriteIssuerTLS(dir string, now time.Time) (*IssuerTLS, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "orgkeeper dev issuer CA " + now.UTC().Format(time.RFC3339)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	t := &IssuerTLS{
		CAFile:   filepath.Join(dir, "issuer-ca.crt"),
		CertFile: filepath.Join(dir, "issuer.crt"),
		KeyFile:  filepath.Join(dir, "issuer.key"),
		CA:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:     x509.NewCertPool(),
	}
	t.pool.AddCert(ca)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{t.CAFile, t.CA, 0o644},
		{t.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644},
		{t.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600},
	} {
		if err := writeFileMode(f.path, f.data, f.mode); err != nil {
			return nil, fmt.Errorf("writing the issuer's TLS files: %w", err)
		}
	}
	return t, nil
}

// HTTPClient returns a client that trusts the CA (and nothing else).
func (t *IssuerTLS) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: t.pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

// writeFileMode writes data to path with mode, also when path exists with
// another mode (WriteFile keeps an existing file's mode).
func writeFileMode(path string, data []byte, mode os.FileMode) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.WriteFile(path, data, mode)
}
