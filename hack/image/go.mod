// Module image builds Orgkeeper's container image without a container
// engine: a static manager binary, Debian's CA bundle and a passwd entry for
// the non-root user, in one layer, written as a tarball (see main.go). It is
// its own module so that go-containerregistry stays out of the manager's build.
module github.com/orgkeeper/orgkeeper/hack/image

go 1.26.0

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
)
