#!/usr/bin/env bash
# Builds the control-plane binaries that envtest and 'orgkeeper dev' run
# (kube-apiserver, kube-controller-manager, etcd) from the Go module proxy into a
# cache folder outside the repository, once (and kubectl when WITH_KUBECTL=1). Later runs find them and exit at once.
#
# Prints the folder that holds the binaries (for KUBEBUILDER_ASSETS) on stdout.
# The folder is $ORGKEEPER_ENVTEST_DIR if set, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/orgkeeper/envtest/<kubernetes version>.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
modversion() { # <go.mod> <module>: the required version, in or outside a require block
  awk -v m="$2" '($1=="require" && $2==m) {print $3; exit} ($1==m && $2 ~ /^v/) {print $2; exit}' "$1"
}
version=$(modversion "$here/kube/go.mod" k8s.io/kubernetes)
etcd_version=$(modversion "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)
dir=${ORGKEEPER_ENVTEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orgkeeper/envtest/$version-etcd-$etcd_version}
mkdir -p "$dir"

build() { # <module dir> <package> <output name>
  local out="$dir/$3"
  [ -x "$out" ] && return 0
  echo "building $3 into $dir (first run only; kube-apiserver takes about five minutes)" >&2
  (cd "$here/$1" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out.tmp" "$2") >&2
  mv "$out.tmp" "$out"
}

build etcd . etcd
build kube k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver
build kube k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager
# kubectl is optional: `make kubectl` asks for it (for the README's tour).
if [ "${WITH_KUBECTL:-}" = 1 ]; then build kube k8s.io/kubernetes/cmd/kubectl kubectl; fi
echo "$dir"
