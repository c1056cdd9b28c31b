package main

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// staticBinary builds testdata/hello with CGO_ENABLED=0.
func staticBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "hello")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func buildTarball(t *testing.T, bin string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image.tar")
	err := build(buildOptions{
		Binary: bin, Ref: "registry.example.com/orgkeeper:1.2.3", Out: out,
		CACerts: "/etc/ssl/certs/ca-certificates.crt", Arch: "amd64",
		Version: "1.2.3", Revision: "abc123", Created: time.Unix(1700000000, 0).UTC(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBuiltImageRunsAsNonRootFromAStaticEntrypointWithNoShell(t *testing.T) {
	file := buildTarball(t, staticBinary(t))
	if err := verifyTarball(file); err != nil {
		t.Fatalf("the built image fails verify: %v", err)
	}

	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if c.User != "65532:65532" {
		t.Errorf("user = %q", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/orgkeeper"}) || !slices.Equal(c.Cmd, []string{"manager"}) {
		t.Errorf("entrypoint %q cmd %q", c.Entrypoint, c.Cmd)
	}
	if c.Labels["org.opencontainers.image.version"] != "1.2.3" || c.Labels["org.opencontainers.image.revision"] != "abc123" {
		t.Errorf("labels %v", c.Labels)
	}
	if !slices.Contains(c.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
		t.Errorf("env %v", c.Env)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Errorf("%d layers, want 1", len(layers))
	}

	var files []string
	tr := tar.NewReader(mutate.Extract(img))
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		files = append(files, h.Name)
	}
	want := []string{
		"etc", "etc/passwd", "etc/group", "etc/nsswitch.conf", "etc/ssl", "etc/ssl/certs",
		"etc/ssl/certs/ca-certificates.crt", "home", "home/nonroot", "tmp",
		"usr", "usr/local", "usr/local/bin", "usr/local/bin/orgkeeper",
	}
	if !slices.Equal(files, want) {
		t.Errorf("files\n%q\nwant\n%q", files, want)
	}
}

func TestTheSameInputsGiveTheSameImageDigest(t *testing.T) {
	bin := staticBinary(t)
	digest := func() v1.Hash {
		img, err := tarball.ImageFromPath(buildTarball(t, bin), nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if a, b := digest(), digest(); a != b {
		t.Errorf("two builds of the same inputs: %s and %s", a, b)
	}
}

func TestBuildRefusesADynamicallyLinkedBinary(t *testing.T) {
	// Debian's coreutils are dynamically linked against libc.
	err := build(buildOptions{Binary: "/bin/true", Ref: "orgkeeper:x", Out: filepath.Join(t.TempDir(), "x.tar"), CACerts: "/etc/ssl/certs/ca-certificates.crt", Arch: "amd64"})
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("build of a dynamic binary: %v", err)
	}
}

// extraLayer is a layer with one file.
func extraLayer(t *testing.T, name string, mode int64, uid int, data []byte) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Uid: uid, Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(data)
	_ = tw.Close()
	l, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestVerifyRejectsImagesThatBreakTheChartsAssumptions(t *testing.T) {
	good, err := tarball.ImageFromPath(buildTarball(t, staticBinary(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	withConfig := func(change func(*v1.Config)) v1.Image {
		cfg, err := good.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cfg = cfg.DeepCopy()
		change(&cfg.Config)
		img, err := mutate.ConfigFile(good, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	withLayer := func(l v1.Layer) v1.Image {
		img, err := mutate.AppendLayers(good, l)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	for _, tc := range []struct {
		name string
		img  v1.Image
		want string
	}{
		{"an image that runs as root is rejected", withConfig(func(c *v1.Config) { c.User = "0" }), "non-root user"},
		{"an image with no user (root) is rejected", withConfig(func(c *v1.Config) { c.User = "" }), "non-root user"},
		{"a user name is rejected: runAsNonRoot can only check a number", withConfig(func(c *v1.Config) { c.User = "nonroot" }), "numeric"},
		{"a root group is rejected", withConfig(func(c *v1.Config) { c.User = "65532:0" }), "non-root group"},
		{"a shell entrypoint is rejected", withConfig(func(c *v1.Config) { c.Entrypoint = []string{"/bin/sh", "-c"} }), "entrypoint"},
		{"a shell anywhere is rejected", withLayer(extraLayer(t, "bin/sh", 0o755, 0, []byte("#!"))), "no shell"},
		{"busybox is rejected", withLayer(extraLayer(t, "usr/bin/busybox", 0o755, 0, []byte("x"))), "no shell"},
		{"a setuid file is rejected", withLayer(extraLayer(t, "usr/bin/helper", 0o4755, 0, []byte("x"))), "setuid"},
		{"a file the user may write is rejected", withLayer(extraLayer(t, "etc/ssl/certs/extra.pem", 0o644, 65532, []byte("x"))), "writable by the user"},
		{"a dynamically linked entrypoint is rejected", withLayer(extraLayer(t, "usr/local/bin/orgkeeper", 0o555, 0, dynamic)), "dynamically linked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verify(tc.img)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("verify = %v, want an error about %q", err, tc.want)
			}
		})
	}
}
