package credentials_test

import (
	"strings"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/credentials"
)

func TestTokensNameTheirUserAndMatchOnlyTheirHashUntilTheyExpire(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tok, hash := credentials.NewToken("4f9a-11")
	id, err := credentials.TokenUser(tok)
	if err != nil || id != "4f9a-11" {
		t.Fatalf("TokenUser = %q, %v", id, err)
	}
	exp := credentials.FormatTime(now.Add(time.Hour))
	if !credentials.TokenMatches(hash, exp, tok, now) {
		t.Errorf("the token does not match its own hash")
	}
	if credentials.TokenMatches(hash, exp, tok, now.Add(time.Hour)) {
		t.Errorf("an expired token matched")
	}
	other, _ := credentials.NewToken("4f9a-11")
	if credentials.TokenMatches(hash, exp, other, now) {
		t.Errorf("another token of the same user matched")
	}
	if credentials.TokenMatches("", exp, tok, now) || credentials.TokenMatches(hash, "garbage", tok, now) {
		t.Errorf("a token matched no hash or an unreadable expiry")
	}
	// The hash covers the user ID: the secret part under another user's ID
	// is another token.
	_, secret, _ := strings.Cut(tok, ".")
	if credentials.TokenMatches(hash, exp, "5e1b-22."+secret, now) {
		t.Errorf("the secret part matched under another user's ID")
	}
}

func TestMalformedTokensAreRefusedBeforeAnyLookup(t *testing.T) {
	tok, _ := credentials.NewToken("abc")
	for _, bad := range []string{"", "abc", ".x", "abc.short", "ABC." + strings.Repeat("a", 43), "a/b." + strings.Repeat("a", 43),
		"abc." + strings.Repeat("!", 43), strings.Repeat("a", 200), tok + "x"} {
		if _, err := credentials.TokenUser(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPasswordPolicyAsksForLengthAndRefusesBreachedAndPersonalPasswords(t *testing.T) {
	for pw, want := range map[string]bool{
		"correct horse battery":  true,
		"Tr0ub4dor&3xyz":         true,
		"short":                  false,
		"Password2024!":          false,
		"qwertyuiop12":           false,
		"aaaaaaaaaaaaaaa":        false,
		"abcabcabcabc":           false,
		"123456789012":           false,
		"alice.liddell1":         false, // the email's local part
		strings.Repeat("x", 300): false,
	} {
		got := credentials.PasswordProblem(pw, "alice.liddell@acme.example", "alice.liddell", "acme")
		if (got == "") != want {
			t.Errorf("%q: problem %q, want acceptable=%v", pw, got, want)
		}
	}
}
