package credentials

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters. Memory is in KiB, as in the encoded form.
type Params struct {
	Memory  uint32 // m, KiB
	Time    uint32 // t, passes
	Threads uint8  // p, lanes
	SaltLen int    // bytes of random salt
	KeyLen  int    // bytes of derived key
}

// DefaultParams are OWASP's recommended argon2id parameters (Password
// Storage Cheat Sheet): 19 MiB of memory, 2 passes, 1 lane, with a 16-byte
// salt and a 32-byte key.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on what Verify accepts from an encoded hash. They are well above
// DefaultParams (room to strengthen later) and low enough that one
// verification cannot exhaust the server.
const (
	maxMemory  = 64 * 1024 // KiB: 64 MiB
	maxTime    = 16
	maxThreads = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

const (
	algorithm = "argon2id"
	version   = argon2.Version // 0x13 = 19
)

// ErrInvalidHash is wrapped by every error of Verify about the encoded form:
// it is not a well-formed argon2id PHC string within the accepted limits.
var ErrInvalidHash = errors.New("credentials: invalid argon2id hash")

// ErrEmptyPassword is returned by Hash for an empty password.
var ErrEmptyPassword = errors.New("credentials: empty password")

// b64 is the PHC string format's base64: standard alphabet, no padding, and
// (Strict) no stray bits, so every hash has exactly one encoding.
var b64 = base64.RawStdEncoding.Strict()

// Hash returns the PHC-encoded argon2id hash of password with DefaultParams
// and a random salt from crypto/rand.
func Hash(password string) (string, error) {
	return hashWith(password, DefaultParams, rand.Reader)
}

func hashWith(password string, p Params, random io.Reader) (string, error) {
	if password == "" {
		return "", ErrEmptyPassword
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("credentials: reading salt: %w", err)
	}
	h := hash{Params: p, salt: salt, key: argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(p.KeyLen))}
	return h.String(), nil
}

// Verify reports whether password matches the encoded hash. A wrong password
// is (false, nil); an error (wrapping ErrInvalidHash) means the encoded hash
// itself is unusable. The comparison takes the same time wherever the keys
// differ.
func Verify(encoded, password string) (bool, error) {
	h, err := parse(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.Time, h.Memory, h.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// hash is a parsed encoded hash.
type hash struct {
	Params
	salt, key []byte
}

// String encodes h in the PHC string format.
func (h hash) String() string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", algorithm, version,
		h.Memory, h.Time, h.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parse accepts exactly the canonical form that String writes, within the
// limits above.
func parse(encoded string) (hash, error) {
	bad := func(format string, args ...any) (hash, error) {
		return hash{}, fmt.Errorf("%w: %s", ErrInvalidHash, fmt.Sprintf(format, args...))
	}
	// Bound the work before splitting: the longest valid string is far
	// shorter than this.
	if len(encoded) > 512 {
		return bad("%d characters is too long", len(encoded))
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=…,t=…,p=…$salt$key")
	}
	if parts[1] != algorithm {
		return bad("algorithm %q is not %s", parts[1], algorithm)
	}
	if parts[2] != "v="+strconv.Itoa(version) {
		return bad("version %q is not v=%d", parts[2], version)
	}

	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return bad("parameters must be m=…,t=…,p=…")
	}
	var h hash
	m, err := parseParam(params[0], "m", maxMemory)
	if err != nil {
		return bad("%v", err)
	}
	t, err := parseParam(params[1], "t", maxTime)
	if err != nil {
		return bad("%v", err)
	}
	p, err := parseParam(params[2], "p", maxThreads)
	if err != nil {
		return bad("%v", err)
	}
	if m < 8*p {
		// RFC 9106: at least 8 KiB per lane. The argon2 package would
		// silently raise it, so a hash like this cannot have been ours.
		return bad("m=%d is below 8 KiB per lane (p=%d)", m, p)
	}
	h.Memory, h.Time, h.Threads = uint32(m), uint32(t), uint8(p)

	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return bad("salt is not unpadded base64")
	}
	if len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen {
		return bad("salt of %d bytes; want %d to %d", len(h.salt), minSaltLen, maxSaltLen)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil {
		return bad("key is not unpadded base64")
	}
	if len(h.key) < minKeyLen || len(h.key) > maxKeyLen {
		return bad("key of %d bytes; want %d to %d", len(h.key), minKeyLen, maxKeyLen)
	}
	h.SaltLen, h.KeyLen = len(h.salt), len(h.key)
	return h, nil
}

// parseParam parses "name=value" with value a decimal integer from 1 to max,
// written without sign or leading zeros.
func parseParam(s, name string, max uint64) (uint64, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("parameter %q: want %s=<number>", s, name)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != v {
		return 0, fmt.Errorf("parameter %s=%q is not a plain decimal number", name, v)
	}
	if n < 1 || n > max {
		return 0, fmt.Errorf("parameter %s=%d is outside 1 to %d", name, n, max)
	}
	return n, nil
}
