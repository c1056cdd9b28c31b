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
	// The floor on this machine: starting an empty Go program. The
	// difference is what the plugin itself costs.
	src := filepath.Join(dir, "empty", "main.go")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(src, []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"{}\\n\") }\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	empty := filepath.Join(dir, "empty-bin")
	if out, err := exec.Command("go", "build", "-o", empty, src).CombinedOutput(); err != nil {
		b.Fatalf("building: %v\n%s", err, out)
	}
	env := append(os.Environ(), execInfoEnv+`={"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`)
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"plugin", []string{bin, "login", "--issuer-url=" + issuer, "--cache-dir=" + c.dir}},
		{"empty-go-program", []string{empty}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				cmd := exec.Command(bc.args[0], bc.args[1:]...)
				cmd.Env = env
				if out, err := cmd.Output(); err != nil || len(out) == 0 {
					b.Fatalf("%s: %v %s", bc.name, err, out)
				}
			}
		})
	}
}
