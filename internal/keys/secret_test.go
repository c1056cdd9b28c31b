package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestSecretDataRoundTrip(t *testing.T) {
	in := fullSet(t, period)
	data, err := in.SecretData()
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"es256-current.pem", "es256-next.pem", "es256-previous.pem", "keys-next.json", "keys.json",
		"rs256-current.pem", "rs256-next.pem", "rs256-previous.pem"}
	if got := slices.Sorted(maps.Keys(data)); !slices.Equal(got, wantKeys) {
		t.Fatalf("data keys = %v, want %v", got, wantKeys)
	}
	for name, v := range data {
		if name == IndexKey || name == NextIndexKey {
			continue
		}
		if b, _ := pem.Decode(v); b == nil || b.Type != "PRIVATE KEY" {
			t.Errorf("%s is not a PKCS #8 PEM block", name)
		}
	}

	out, err := FromSecretData(data)
	if err != nil {
		t.Fatal(err)
	}
	if out.DefaultAlgorithm() != in.DefaultAlgorithm() {
		t.Fatalf("default = %s, want %s", out.DefaultAlgorithm(), in.DefaultAlgorithm())
	}
	for _, alg := range Algorithms() {
		pin, _ := in.Pair(alg)
		pout, ok := out.Pair(alg)
		if !ok {
			t.Fatalf("%s missing after the round trip", alg)
		}
		sameKey(t, string(alg)+" current", pout.Current, pin.Current)
		sameKey(t, string(alg)+" previous", pout.Previous, pin.Previous)
		sameKey(t, string(alg)+" next", pout.Next, pin.Next)
	}
	// The main index lists no next key: a release from before next keys
	// reads it and ignores keys-next.json.
	if strings.Contains(string(data[IndexKey]), `"next"`) {
		t.Fatalf("%s mentions the next keys:\n%s", IndexKey, data[IndexKey])
	}
	old := maps.Clone(data)
	delete(old, NextIndexKey)
	legacy, err := FromSecretData(old)
	if err != nil {
		t.Fatalf("a Secret without %s (written before next keys) does not load: %v", NextIndexKey, err)
	}
	if p, _ := legacy.Pair(ES256); p.Next != nil || p.Current.ID() != mustPair(t, in, ES256).Current.ID() {
		t.Fatalf("a Secret without next keys loads as %+v", p)
	}

	again, err := out.SecretData()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(data, again, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatal("serialising a loaded set does not reproduce the same Secret data")
	}
}

func mustPair(t *testing.T, s *KeySet, alg jose.SignatureAlgorithm) Pair {
	t.Helper()
	p, ok := s.Pair(alg)
	if !ok {
		t.Fatalf("no %s keys", alg)
	}
	return p
}

func sameKey(t *testing.T, what string, got, want *Key) {
	t.Helper()
	if got.ID() != want.ID() || got.Algorithm() != want.Algorithm() || !got.Created().Equal(want.Created()) {
		t.Fatalf("%s = %s/%s/%v, want %s/%s/%v", what, got.Algorithm(), got.ID(), got.Created(), want.Algorithm(), want.ID(), want.Created())
	}
	if !got.Signer().(interface {
		Equal(x crypto.PrivateKey) bool
	}).Equal(want.Signer()) {
		t.Fatalf("%s: private key differs", what)
	}
}

func TestFromSecretDataRejectsBadData(t *testing.T) {
	valid, err := fullSet(t, period).SecretData()
	if err != nil {
		t.Fatal(err)
	}
	es, _ := fullSet(t, period).Pair(ES256)

	pkcs8PEM := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}

	// editIndex rewrites keys.json through a function on its decoded form.
	editIndex := func(edit func(*index)) func(map[string][]byte) {
		return func(d map[string][]byte) {
			var idx index
			if err := json.Unmarshal(d[IndexKey], &idx); err != nil {
				t.Fatal(err)
			}
			edit(&idx)
			raw, err := json.Marshal(idx)
			if err != nil {
				t.Fatal(err)
			}
			d[IndexKey] = raw
		}
	}
	entry := func(idx *index, dataKey string) *indexEntry {
		for i := range idx.Keys {
			if idx.Keys[i].DataKey == dataKey {
				return &idx.Keys[i]
			}
		}
		t.Fatalf("no index entry for %s", dataKey)
		return nil
	}

	tests := []struct {
		name   string
		mutate func(map[string][]byte)
		msg    string
	}{
		{"a Secret without the index", func(d map[string][]byte) { delete(d, IndexKey) }, `no "keys.json"`},
		{"an index that is not JSON", func(d map[string][]byte) { d[IndexKey] = []byte("{not json") }, "not a valid index"},
		{"an index with an unknown field", func(d map[string][]byte) {
			d[IndexKey] = []byte(`{"version":1,"default":"ES256","keys":[],"extra":true}`)
		}, "unknown field"},
		{"an index of a newer version", editIndex(func(i *index) { i.Version = 2 }), "version 2"},
		{"an unsupported default algorithm", editIndex(func(i *index) { i.Default = "HS256" }), `default algorithm "HS256"`},
		{"a key of an unsupported algorithm", editIndex(func(i *index) { entry(i, "rs256-previous.pem").Alg = "PS512" }), `algorithm "PS512"`},
		{"a key without creation time", editIndex(func(i *index) { entry(i, "es256-current.pem").Created = time.Time{} }), "no creation time"},
		{"a key whose PEM entry is missing", func(d map[string][]byte) { delete(d, "es256-previous.pem") }, "es256-previous.pem): missing"},
		{"a key whose entry is not PEM", func(d map[string][]byte) { d["es256-current.pem"] = []byte("garbage") }, "not PEM"},
		{"a PKCS #1 RSA key instead of PKCS #8", func(d map[string][]byte) {
			b, _ := pem.Decode(d["rs256-current.pem"])
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			d["rs256-current.pem"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey))})
		}, `"RSA PRIVATE KEY"`},
		{"a PEM block that does not hold a key", func(d map[string][]byte) {
			d["es256-current.pem"] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 1, 2, 3}})
		}, "not a PKCS #8 private key"},
		{"two PEM blocks in one entry", func(d map[string][]byte) {
			d["es256-current.pem"] = append(slices.Clone(d["es256-current.pem"]), d["es256-previous.pem"]...)
		}, "more than one PEM block"},
		{"an RSA key under ES256", func(d map[string][]byte) { d["es256-current.pem"] = d["rs256-current.pem"] }, "ES256 needs an ECDSA key"},
		{"a P-384 key under ES256", func(d map[string][]byte) { d["es256-current.pem"] = pkcs8PEM(p384) }, "curve P-256"},
		{"a 1024-bit RSA key", func(d map[string][]byte) { d["rs256-current.pem"] = pkcs8PEM(rsa1024) }, "got 1024"},
		{"a kid that is not the key's thumbprint", editIndex(func(i *index) { entry(i, "es256-current.pem").ID = "made-up" }), `kid "made-up"`},
		{"a role that is neither current nor previous", editIndex(func(i *index) { entry(i, "es256-previous.pem").Role = "next" }), `role "next"`},
		{"two current keys for one algorithm", editIndex(func(i *index) {
			e := entry(i, "es256-previous.pem")
			e.Role = roleCurrent
		}), "a second current ES256 key"},
		{"a previous key without a current key", editIndex(func(i *index) {
			i.Keys = slices.DeleteFunc(i.Keys, func(e indexEntry) bool { return e.DataKey == "rs256-current.pem" })
		}), "RS256 has no current key"},
		{"a default algorithm without keys", editIndex(func(i *index) {
			i.Keys = slices.DeleteFunc(i.Keys, func(e indexEntry) bool { return e.Alg == "ES256" })
		}), `ES256 has no current key`},
		{"one key as both current and previous", func(d map[string][]byte) {
			d["es256-previous.pem"] = d["es256-current.pem"]
			editIndex(func(i *index) { entry(i, "es256-previous.pem").ID = es.Current.ID() })(d)
		}, "both current and previous"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := maps.Clone(valid)
			tc.mutate(d)
			s, err := FromSecretData(d)
			if err == nil {
				t.Fatalf("FromSecretData accepted it: %v", keyIDs(s.Keys()))
			}
			if !errors.Is(err, ErrInvalidSecretData) {
				t.Fatalf("error %v does not wrap ErrInvalidSecretData", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestFromSecretDataIgnoresUnrelatedEntries(t *testing.T) {
	data, err := fullSet(t, period).SecretData()
	if err != nil {
		t.Fatal(err)
	}
	data["README"] = []byte("managed by orgkeeper")
	if _, err := FromSecretData(data); err != nil {
		t.Fatal(err)
	}
}

// FuzzFromSecretData checks that no index or key content makes the loader
// panic; every failure must be an ErrInvalidSecretData.
func FuzzFromSecretData(f *testing.F) {
	data, err := fullSet(f, period).SecretData()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data[IndexKey], data["es256-current.pem"])
	f.Add([]byte(`{"version":1,"default":"ES256","keys":[{"kid":"x","alg":"ES256","role":"current","created":"2030-01-01T00:00:00Z","dataKey":"es256-current.pem"}]}`), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte(`null`), []byte{})
	f.Fuzz(func(t *testing.T, index, key []byte) {
		d := maps.Clone(data)
		d[IndexKey] = index
		d["es256-current.pem"] = key
		if _, err := FromSecretData(d); err != nil && !errors.Is(err, ErrInvalidSecretData) {
			t.Fatalf("error %v does not wrap ErrInvalidSecretData", err)
		}
	})
}
