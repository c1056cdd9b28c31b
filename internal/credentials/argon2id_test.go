package credentials

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// referenceVector is the argon2id v=19 test vector of the reference
// implementation (phc-winner-argon2, src/test.c): password "password", salt
// "somesalt", m=65536, t=2, p=1. It ties Verify to an implementation this
// project did not write.
const referenceVector = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

func TestHashEncodesDefaultParamsInPHCFormat(t *testing.T) {
	enc, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("encoded hash %q does not start with the OWASP parameters", enc)
	}
	h, err := parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.salt) != 16 || len(h.key) != 32 {
		t.Fatalf("salt %d bytes, key %d bytes; want 16 and 32", len(h.salt), len(h.key))
	}
	again, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if again == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestHashIsDeterministicForAGivenSalt(t *testing.T) {
	// Pins the encoding: DefaultParams, a salt of 16 zero bytes.
	const want = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$vK9v0OWqoxsnIkDDgGdlMxPp94AvwibM+EFs97z55kQ"
	enc, err := hashWith("correct horse battery staple", DefaultParams, bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if enc != want {
		t.Fatalf("got %q, want %q", enc, want)
	}
}

func TestHashRefuses(t *testing.T) {
	if _, err := Hash(""); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("empty password: got %v, want ErrEmptyPassword", err)
	}
	if _, err := hashWith("pw", DefaultParams, iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Error("a failing random source must fail the hash")
	}
}

func TestVerify(t *testing.T) {
	enc, err := Hash("s3cret-Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	weaker, err := hashWith("s3cret-Passw0rd", Params{Memory: 64, Time: 1, Threads: 2, SaltLen: 8, KeyLen: 16}, bytes.NewReader(bytes.Repeat([]byte{7}, 8)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		encoded  string
		password string
		want     bool
	}{
		{"the right password verifies", enc, "s3cret-Passw0rd", true},
		{"a wrong password does not verify", enc, "s3cret-Passw0rd!", false},
		{"the password is compared exactly, including case", enc, "S3CRET-PASSW0RD", false},
		{"an empty password does not verify", enc, "", false},
		{"a hash with other parameters still verifies with its own parameters", weaker, "s3cret-Passw0rd", true},
		{"a hash with other parameters refuses a wrong password", weaker, "wrong", false},
		{"the reference implementation's test vector verifies", referenceVector, "password", true},
		{"the reference test vector refuses another password", referenceVector, "passwore", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(tc.encoded, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	const salt, key = "AAAAAAAAAAAAAAAAAAAAAA", "3pMHFBe5Ci6RXuvsdhnlprFdnDzdGW2Y1F82i7ps6eE"
	ok := "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key
	if _, err := Verify(ok, "x"); err != nil {
		t.Fatalf("the well-formed base case must parse: %v", err)
	}
	for _, tc := range []struct {
		name    string
		encoded string
	}{
		{"an empty string", ""},
		{"a plain-text password", "hunter2"},
		{"a bcrypt hash", "$2b$12$C6UzMDM.H6dfI/f/IKxGhu7KvrJ0tPQiX8cYQ6rkY8LMx3I6hWkiK"},
		{"argon2i instead of argon2id", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"argon2d instead of argon2id", "$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"version 16 (argon2 1.0)", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key},
		{"no leading dollar", "argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"a trailing dollar", ok + "$"},
		{"parameters out of order", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key},
		{"a missing parameter", "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key},
		{"an extra keyid parameter", "$argon2id$v=19$m=19456,t=2,p=1,keyid=x$" + salt + "$" + key},
		{"a leading zero", "$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + key},
		{"a plus sign", "$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key},
		{"a negative number", "$argon2id$v=19$m=19456,t=-2,p=1$" + salt + "$" + key},
		{"a space", "$argon2id$v=19$m=19456, t=2,p=1$" + salt + "$" + key},
		{"zero passes", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key},
		{"zero lanes", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key},
		{"memory of 4 GiB, to exhaust the server", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key},
		{"memory beyond uint32", "$argon2id$v=19$m=99999999999,t=2,p=1$" + salt + "$" + key},
		{"a million passes, to spin the CPU", "$argon2id$v=19$m=19456,t=1000000,p=1$" + salt + "$" + key},
		{"255 lanes", "$argon2id$v=19$m=19456,t=2,p=255$" + salt + "$" + key},
		{"less than 8 KiB per lane", "$argon2id$v=19$m=8,t=2,p=2$" + salt + "$" + key},
		{"padded base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key},
		{"URL-safe base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.ReplaceAll(key, "6", "_")},
		{"non-canonical base64 (stray low bits)", "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAB$" + key},
		{"a salt of 4 bytes", "$argon2id$v=19$m=19456,t=2,p=1$AAAAAA$" + key},
		{"an empty salt", "$argon2id$v=19$m=19456,t=2,p=1$$" + key},
		{"an empty key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$"},
		{"a key of 8 bytes", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$AAAAAAAAAAA"},
		{"a key of 1 KiB", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.Repeat("A", 1366)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(tc.encoded, "correct horse battery staple")
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("Verify(%q) = %v, %v; want an ErrInvalidHash error", tc.encoded, got, err)
			}
			if got {
				t.Fatal("a malformed hash verified")
			}
		})
	}
}

func TestSecretLayout(t *testing.T) {
	if got := SecretName("4f9a-11"); got != "orgkeeper-cred-4f9a-11" {
		t.Errorf("SecretName = %q", got)
	}
	for _, tc := range []struct {
		name, org, user string
		want            map[string]string
	}{
		{"labels name the organization, the user and its UID", "acme", "alice", map[string]string{
			iamv1.LabelManagedBy: iamv1.ManagedByValue, iamv1.LabelOrganization: "acme", LabelOrgUser: "alice", LabelCredentialUser: "u-1"}},
		{"a user name too long for a label value is left out", "acme", strings.Repeat("a", 64), map[string]string{
			iamv1.LabelManagedBy: iamv1.ManagedByValue, iamv1.LabelOrganization: "acme", LabelCredentialUser: "u-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SecretLabels(tc.org, tc.user, "u-1")
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if LabelOrganization != iamv1.LabelOrganization || LabelManagedBy != iamv1.LabelManagedBy || ManagedByValue != iamv1.ManagedByValue {
		t.Error("label constants disagree with api/v1alpha1")
	}
}

// BenchmarkHashArgon2id is the raw cost of one password hash with
// DefaultParams: the floor under any password login, since verifying costs
// the same as hashing. Login benchmarks compare against it.
func BenchmarkHashArgon2id(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyArgon2id(b *testing.B) {
	enc, err := Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := Verify(enc, "correct horse battery staple"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
