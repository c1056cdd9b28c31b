package session

import "crypto/subtle"

// MatchSecret reports, in constant time, whether secret is the value whose
// HashSecret is hash. An empty hash matches nothing. It is how the server
// checks a browser's cookie against what a record keeps of it (for example
// AuthRequest.BrowserBinding, AuthRequest.LoginSessionID).
func MatchSecret(secret, hash string) bool {
	if hash == "" || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(hash)) == 1
}
