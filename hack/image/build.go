package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's layout and identity; verify checks an image against them.
const (
	entrypoint = "/usr/local/bin/orgkeeper"
	caBundle   = "/etc/ssl/certs/ca-certificates.crt"
	userID     = 65532
	userName   = "nonroot"
)

type buildOptions struct {
	Binary, Ref, Out, CACerts, Arch string
	Version, Revision, Source       string
	Created                         time.Time
}

// sourceDateEpoch is the image's timestamp: $SOURCE_DATE_EPOCH, else the
// Unix epoch (a reproducible build records no wall-clock time).
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func build(o buildOptions) error {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return err
	}
	if err := checkStatic(bin); err != nil {
		return fmt.Errorf("%s: %w", o.Binary, err)
	}
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		return fmt.Errorf("the CA bundle (Debian: apt-get install ca-certificates): %w", err)
	}
	ref, err := name.ParseReference(o.Ref)
	if err != nil {
		return fmt.Errorf("-ref %q: %w", o.Ref, err)
	}
	img, err := image(o, bin, certs)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(o.Out, ref, img)
}

// image assembles the one-layer image.
func image(o buildOptions, bin, certs []byte) (v1.Image, error) {
	fsTar, err := rootFS(o.Created, bin, certs)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(fsTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "hack/image: static orgkeeper, CA bundle, passwd"},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = o.Arch, "linux"
	cfg.Created = v1.Time{Time: o.Created}
	labels := map[string]string{
		"org.opencontainers.image.title":       "orgkeeper",
		"org.opencontainers.image.description": "Orgkeeper: B2B customer identity as a Kubernetes operator with an embedded OIDC provider",
		"org.opencontainers.image.created":     o.Created.Format(time.RFC3339),
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Revision,
		"org.opencontainers.image.source":   o.Source,
	} {
		if v != "" {
			labels[k] = v
		}
	}
	cfg.Config = v1.Config{
		Entrypoint: []string{entrypoint},
		Cmd:        []string{"manager"},
		User:       fmt.Sprintf("%d:%d", userID, userID),
		WorkingDir: "/",
		Env: []string{
			"PATH=/usr/local/bin",
			"SSL_CERT_FILE=" + caBundle,
			"HOME=/home/" + userName,
		},
		Labels: labels,
	}
	return mutate.ConfigFile(img, cfg)
}

// rootFS is the layer's tar: directories and files owned by root and not
// writable by the user, except /tmp (sticky, world-writable) and the user's
// home.
func rootFS(mtime time.Time, bin, certs []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(path string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: path, Mode: mode, Uid: uid, Gid: uid, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(path string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", userName, userID, userID, userName, userName)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", userName, userID)
	steps := []func() error{
		func() error { return dir("etc/", 0o755, 0) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		// Go's resolver reads it; without it, it would also try mDNS-style
		// fallbacks on some systems.
		func() error { return file("etc/nsswitch.conf", 0o644, []byte("hosts: files dns\n")) },
		func() error { return dir("etc/ssl/", 0o755, 0) },
		func() error { return dir("etc/ssl/certs/", 0o755, 0) },
		func() error { return file(caBundle[1:], 0o644, certs) },
		func() error { return dir("home/", 0o755, 0) },
		func() error { return dir("home/"+userName+"/", 0o700, userID) },
		func() error { return dir("tmp/", 0o1777, 0) },
		func() error { return dir("usr/", 0o755, 0) },
		func() error { return dir("usr/local/", 0o755, 0) },
		func() error { return dir("usr/local/bin/", 0o755, 0) },
		func() error { return file(entrypoint[1:], 0o555, bin) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
