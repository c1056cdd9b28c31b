package credentials

import (
	"errors"
	"testing"
)

// FuzzVerify feeds Verify arbitrary encoded hashes and passwords: it must
// never panic, every refusal must be an ErrInvalidHash, and whatever parses
// must be in canonical form (encoding it again gives the same string), so
// that one hash has exactly one accepted spelling.
//
//	go test ./internal/credentials -run '^$' -fuzz FuzzVerify -fuzztime 30s
func FuzzVerify(f *testing.F) {
	f.Add(referenceVector, "password")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$vK9v0OWqoxsnIkDDgGdlMxPp94AvwibM+EFs97z55kQ", "correct horse battery staple")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$$", "")
	f.Add("$$$$$", "\x00")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		h, perr := parse(encoded)
		if perr == nil && h.String() != encoded {
			t.Fatalf("parse accepted the non-canonical %q (canonical %q)", encoded, h.String())
		}
		if perr == nil && (h.Memory > maxMemory || h.Time > maxTime || h.Threads > maxThreads) {
			t.Fatalf("parse accepted parameters beyond the limits: %q", encoded)
		}
		ok, err := Verify(encoded, password)
		if err != nil && !errors.Is(err, ErrInvalidHash) {
			t.Fatalf("Verify error %v does not wrap ErrInvalidHash", err)
		}
		if (err == nil) != (perr == nil) || (err != nil && ok) {
			t.Fatalf("Verify(%q) = %v, %v; parse error %v", encoded, ok, err, perr)
		}
	})
}
