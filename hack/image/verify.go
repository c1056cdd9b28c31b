package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// verifyTarball reads an image tarball back with go-containerregistry and
// checks it.
func verifyTarball(file string) error {
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	return verify(img)
}

// shells are programs whose presence would give an attacker who gets code
// execution an interactive foothold; the image has none.
var shells = []string{"sh", "bash", "ash", "dash", "zsh", "busybox"}

// verify checks what the chart's securityContext relies on: a numeric
// non-root user (runAsNonRoot cannot check a user name), an entrypoint that
// exists, is executable and statically linked (there is no libc), the CA
// bundle, no shell, no setuid or setgid file, and nothing the user may write
// outside /tmp and its home.
func verify(img v1.Image) error {
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	var errs []error
	uid, gid, ok := strings.Cut(cfg.Config.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		errs = append(errs, fmt.Errorf("user %q is not a numeric non-root user", cfg.Config.User))
	}
	if ok {
		if n, err := strconv.Atoi(gid); err != nil || n == 0 {
			errs = append(errs, fmt.Errorf("group of user %q is not a numeric non-root group", cfg.Config.User))
		}
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != entrypoint {
		errs = append(errs, fmt.Errorf("entrypoint is %q, want [%s]", cfg.Config.Entrypoint, entrypoint))
	}
	if cfg.OS != "linux" || cfg.Architecture == "" {
		errs = append(errs, fmt.Errorf("platform is %s/%s", cfg.OS, cfg.Architecture))
	}
	if cfg.Config.Labels["org.opencontainers.image.title"] == "" {
		errs = append(errs, errors.New("no org.opencontainers.image.title label"))
	}

	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the filesystem: %w", err)
		}
		p := "/" + strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		seen[p] = true
		for _, s := range shells {
			if path.Base(p) == s {
				errs = append(errs, fmt.Errorf("%s: the image must carry no shell", p))
			}
		}
		if h.Mode&0o6000 != 0 {
			errs = append(errs, fmt.Errorf("%s is setuid or setgid", p))
		}
		userWritable := (h.Uid != 0 && h.Mode&0o200 != 0) || h.Mode&0o002 != 0
		if userWritable && p != "/tmp" && !strings.HasPrefix(p, "/home/") {
			errs = append(errs, fmt.Errorf("%s is writable by the user (mode %o, uid %d)", p, h.Mode, h.Uid))
		}
		if p == entrypoint {
			if h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0 {
				errs = append(errs, fmt.Errorf("%s is not an executable file", p))
			}
			bin, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if err := checkStatic(bin); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
		}
	}
	for _, want := range []string{entrypoint, caBundle, "/etc/passwd", "/tmp"} {
		if !seen[want] {
			errs = append(errs, fmt.Errorf("the image has no %s", want))
		}
	}
	return errors.Join(errs...)
}

// checkStatic fails unless bin is a Linux ELF executable without a program
// interpreter: with one it would need a dynamic loader and libc, which the
// image does not have.
func checkStatic(bin []byte) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (it has a program interpreter); build it with CGO_ENABLED=0")
		}
	}
	return nil
}
