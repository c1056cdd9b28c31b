package keys

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestServerKeysRoundTripThroughSecretData(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	k, err := NewServerKeys(now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.Crypto == k.CSRF {
		t.Fatal("the crypto and CSRF keys are the same")
	}
	rotated, changed, err := RotateServerKeys(k, now.Add(time.Hour), time.Hour, nil)
	if err != nil || !changed {
		t.Fatalf("rotation when due: changed %v, err %v", changed, err)
	}
	for _, in := range []*ServerKeys{k, rotated} {
		out, err := ServerKeysFromSecretData(in.SecretData())
		if err != nil {
			t.Fatal(err)
		}
		if !out.Equal(in) {
			t.Fatalf("round trip changed the keys: %+v, want %+v", out, in)
		}
	}
}

func TestRotateServerKeysKeepsTheCurrentKeysAsPreviousOnlyWhenDue(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	k, err := NewServerKeys(now, nil)
	if err != nil {
		t.Fatal(err)
	}
	same, changed, err := RotateServerKeys(k, now.Add(time.Hour-time.Second), time.Hour, nil)
	if err != nil || changed || same != k {
		t.Fatalf("rotation before it is due: changed %v, err %v", changed, err)
	}
	next, changed, err := RotateServerKeys(k, now.Add(time.Hour), time.Hour, nil)
	if err != nil || !changed {
		t.Fatalf("rotation when due: changed %v, err %v", changed, err)
	}
	if next.Crypto == k.Crypto || next.CSRF == k.CSRF {
		t.Fatal("rotation kept a current key")
	}
	if next.PreviousCrypto == nil || *next.PreviousCrypto != k.Crypto || next.PreviousCSRF == nil || *next.PreviousCSRF != k.CSRF {
		t.Fatal("rotation did not keep the old keys as previous")
	}
	if next.Crypto != *k.NextCrypto || next.CSRF != *k.NextCSRF {
		t.Fatal("rotation did not promote the published next keys to current")
	}
	if next.NextCrypto == nil || *next.NextCrypto == *k.NextCrypto || next.NextCSRF == nil || *next.NextCSRF == *k.NextCSRF {
		t.Fatal("rotation did not publish new next keys")
	}
	if !next.Created.Equal(now.Add(time.Hour)) {
		t.Fatalf("Created = %v, want the rotation time", next.Created)
	}
	third, _, err := RotateServerKeys(next, now.Add(2*time.Hour), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *third.PreviousCrypto != next.Crypto {
		t.Fatal("the second rotation kept keys older than the previous ones")
	}
}

func TestServerKeysFromSecretDataNamesWhatIsWrong(t *testing.T) {
	k, err := NewServerKeys(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(map[string][]byte)
		want string
	}{
		{"a missing crypto key is named", func(d map[string][]byte) { delete(d, ServerKeyCrypto) }, `no "crypto-key" entry`},
		{"a short CSRF key is refused with its length", func(d map[string][]byte) { d[ServerKeyCSRF] = []byte("short") }, `"csrf-key" has 5 bytes, want 32`},
		{"a previous key of the wrong size is refused", func(d map[string][]byte) { d[ServerKeyCryptoPrevious] = bytes.Repeat([]byte{1}, 33) }, `"crypto-key-previous" has 33 bytes`},
		{"a creation time that is not RFC 3339 is refused", func(d map[string][]byte) { d[ServerKeyCreated] = []byte("yesterday") }, `"created" is not an RFC 3339 time`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := k.SecretData()
			tc.edit(d)
			_, err := ServerKeysFromSecretData(d)
			if !errors.Is(err, ErrInvalidSecretData) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want ErrInvalidSecretData mentioning %q", err, tc.want)
			}
		})
	}
}

func TestServerKeysWithoutNextKeysStillLoadAndRotate(t *testing.T) {
	// A Secret written before next keys existed.
	k, err := NewServerKeys(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := k.SecretData()
	delete(d, ServerKeyCryptoNext)
	delete(d, ServerKeyCSRFNext)
	old, err := ServerKeysFromSecretData(d)
	if err != nil {
		t.Fatal(err)
	}
	if old.NextCrypto != nil || old.NextCSRF != nil {
		t.Fatal("next keys appeared from nowhere")
	}
	next, changed, err := RotateServerKeys(old, old.Created.Add(time.Hour), time.Hour, nil)
	if err != nil || !changed {
		t.Fatalf("rotation: changed %v, err %v", changed, err)
	}
	if next.Crypto == old.Crypto || next.Crypto == ([ServerKeySize]byte{}) || next.NextCrypto == nil {
		t.Fatal("rotating keys without next ones must make fresh current and next keys")
	}
}
