package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCachedExecCredential runs the plugin binary as kubectl does for
// every command while the cached token is valid: process start, one file
// read, the ExecCredential on stdout. This is what the plugin adds to a
// kubectl command.
func BenchmarkCachedExecCredential(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "kubectl-org")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("building: %v\n%s", err, out)
	}
	c := cache{dir: filepath.Join(dir, "cache")}
	const issuer = "https://login.example"
	if err := c.save(&entry{Issuer: issuer, ClientID: "kubernetes", IDToken: "a.b.c", Expiry: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		cmd := exec.Command(bin, "login", "--issuer-url="+issuer, "--cache-dir="+c.dir)
		cmd.Env = append(os.Environ(), execInfoEnv+`={"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`)
		if out, err := cmd.Output(); err != nil || len(out) == 0 {
			b.Fatalf("plugin: %v %s", err, out)
		}
	}
}
