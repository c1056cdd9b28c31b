#!/usr/bin/env bash
# Copies the CRDs and the sample objects of an earlier commit into
# test/upgrade/testdata/<short commit>/, the release the upgrade test upgrades
# from. The test then needs no git history (CI clones without it).
#
#   hack/upgrade-testdata.sh <commit>      (or: make upgrade-testdata REV=<commit>)
set -euo pipefail

rev="${1:?usage: $0 <commit>}"
root="$(git rev-parse --show-toplevel)"
short="$(git rev-parse --short=7 "${rev}^{commit}")"
out="${root}/test/upgrade/testdata/${short}"

rm -rf "${out}"
mkdir -p "${out}/crds" "${out}/samples"
for dir in crds:config/crd/bases samples:config/samples; do
  sub="${dir%%:*}" src="${dir#*:}"
  for f in $(git ls-tree --name-only "${short}" "${src}/" | grep '\.yaml$' | grep -v kustomization.yaml); do
    git show "${short}:${f}" >"${out}/${sub}/$(basename "${f}")"
  done
done
{
  echo "commit: $(git rev-parse "${short}^{commit}")"
  echo "date: $(git log -1 --format=%cI "${short}")"
  echo "subject: $(git log -1 --format=%s "${short}" | cut -c1-120)"
} >"${out}/SOURCE"
echo "wrote ${out}"
