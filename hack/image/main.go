// Command image builds Orgkeeper's container image without a container
// engine, and checks one.
//
//	go run . build -binary bin/orgkeeper-linux-amd64 -ref orgkeeper:0.1.0 -out bin/orgkeeper-image.tar
//	go run . verify bin/orgkeeper-image.tar
//
// The image is one layer on nothing: the static manager binary at
// /usr/local/bin/orgkeeper, Debian's CA bundle (the host's
// /etc/ssl/certs/ca-certificates.crt, from the ca-certificates package), an
// /etc/passwd and /etc/group that name the non-root user 65532, and an empty
// /tmp. No shell, no package manager, nothing writable by the user but /tmp
// (which the chart mounts as an emptyDir, the root filesystem being
// read-only). Timestamps come from SOURCE_DATE_EPOCH (else the Unix epoch), so
// the same inputs give the same image digest.
//
// The output is a tarball as `docker save` writes it:
// load it with `docker load` or `podman load`, or push it with `crane push`
// or `skopeo copy docker-archive:...`. build verifies what it wrote; verify
// checks a tarball again (make image runs both).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: image build -binary FILE -ref NAME:TAG -out FILE.tar | image verify FILE.tar")
	}
	switch args[0] {
	case "build":
		fs := flag.NewFlagSet("build", flag.ContinueOnError)
		var o buildOptions
		fs.StringVar(&o.Binary, "binary", "", "static linux binary of the manager (CGO_ENABLED=0)")
		fs.StringVar(&o.Ref, "ref", "", "image reference to record in the tarball, such as registry.example.com/orgkeeper:0.1.0")
		fs.StringVar(&o.Out, "out", "", "tarball to write")
		fs.StringVar(&o.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle to include (Debian's ca-certificates)")
		fs.StringVar(&o.Arch, "arch", "amd64", "architecture of -binary")
		fs.StringVar(&o.Version, "version", "", "org.opencontainers.image.version label")
		fs.StringVar(&o.Revision, "revision", "", "org.opencontainers.image.revision label (the git commit)")
		fs.StringVar(&o.Source, "source", "", "org.opencontainers.image.source label (the repository URL)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if o.Binary == "" || o.Ref == "" || o.Out == "" {
			return errors.New("build needs -binary, -ref and -out")
		}
		created, err := sourceDateEpoch()
		if err != nil {
			return err
		}
		o.Created = created
		if err := build(o); err != nil {
			return err
		}
		if err := verifyTarball(o.Out); err != nil {
			return fmt.Errorf("the image just written fails its checks: %w", err)
		}
		fmt.Printf("wrote %s (%s), checked: non-root, static entrypoint, no shell\n", o.Out, o.Ref)
		return nil
	case "verify":
		if len(args) != 2 {
			return errors.New("usage: image verify FILE.tar")
		}
		if err := verifyTarball(args[1]); err != nil {
			return err
		}
		fmt.Printf("%s: non-root, static entrypoint, no shell\n", args[1])
		return nil
	default:
		return fmt.Errorf("unknown command %q: use build or verify", args[0])
	}
}
