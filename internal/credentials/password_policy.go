package credentials

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Password policy, after NIST SP 800-63B: a minimum length, a maximum that
// bounds the work of hashing, no composition rules, and no password that is
// known from breaches or made of the account's own names.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

//go:embed common_passwords.txt
var commonPasswordList string

// commonPasswords are passwords that appear again and again in published
// breaches (lower case); a password equal to one of them, once case and
// trailing digits and punctuation are ignored, is refused.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordList))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

// PasswordProblem explains why a password is refused, in words for the
// person choosing it; "" means it is acceptable. context holds words the
// password must not be made of: the email, its local part, the username,
// the organization's name.
func PasswordProblem(password string, context ...string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return "The password contains characters that cannot be used."
	case n < MinPasswordLength:
		return fmt.Sprintf("Use at least %d characters. A few unrelated words make a long password that is easy to remember.", MinPasswordLength)
	case len(password) > MaxPasswordLength:
		return fmt.Sprintf("Use at most %d characters.", MaxPasswordLength)
	}
	lower := strings.ToLower(password)
	core := strings.TrimRight(lower, "0123456789!?.,;:-_#*@$%&+=~ ")
	if commonPasswords[lower] || commonPasswords[core] {
		return "This password is one of the most common ones in published data breaches. Choose another."
	}
	if repetitive(lower) {
		return "This password is a repetition or a sequence of characters, which is easy to guess. Choose another."
	}
	for _, c := range context {
		c = strings.ToLower(strings.TrimSpace(c))
		if len(c) >= 4 && (core == c || strings.Contains(lower, c) && utf8.RuneCountInString(c)*2 > n) {
			return "The password is made of your email address, name or organization. Choose something others cannot guess."
		}
	}
	return ""
}

// repetitive reports a password made of one short pattern repeated
// ("abcabcabcabc") or of one running sequence ("123456789012").
func repetitive(s string) bool {
	r := []rune(s)
	for size := 1; size <= 4; size++ {
		same := true
		for i := size; i < len(r); i++ {
			if r[i] != r[i-size] {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	up, down := true, true
	for i := 1; i < len(r); i++ {
		d := r[i] - r[i-1]
		if d != 1 && !(r[i-1] == '9' && r[i] == '0') {
			up = false
		}
		if d != -1 && !(r[i-1] == '0' && r[i] == '9') {
			down = false
		}
	}
	return up || down
}
