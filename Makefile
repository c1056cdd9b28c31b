# Orgkeeper. `make dev` runs everything on this machine; `make test` runs the tests.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

GO ?= go
CONTROLLER_GEN := $(GO) tool controller-gen
# Folder with kube-apiserver, etcd and kube-controller-manager, built once from
# the Go module proxy (hack/envtest/build.sh) and cached outside the repository.
ENVTEST_ASSETS = $(shell hack/envtest/build.sh)

.PHONY: all
all: build

##@ Development

.PHONY: dev
dev: envtest ## Run Orgkeeper locally: control plane, operator, issuer and demo data.
	$(GO) build -o bin/orgkeeper ./cmd/orgkeeper
	$(GO) build -o bin/kubectl-org ./cmd/kubectl-org
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" bin/orgkeeper dev $(DEV_ARGS)

.PHONY: generate
generate: ## Generate deepcopy code from the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: manifests
manifests: ## Generate CRDs and the operator's RBAC from markers.
	$(CONTROLLER_GEN) rbac:roleName=orgkeeper-manager crd paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: docs
docs: ## Render the API reference in docs/reference from the CRDs and api/v1alpha1/conditions.go.
	$(GO) run ./hack/crdref -crds config/crd/bases -conditions api/v1alpha1/conditions.go -out docs/reference

# The chart carries copies of the generated CRDs, the operator's ClusterRole,
# the org-admin ClusterRole and the admission policies (Helm cannot read files
# outside the chart). config/ is the one source; this target refreshes them.
CHART_DIR := charts/orgkeeper
.PHONY: chart
chart: manifests ## Copy the CRDs, RBAC and admission policies from config/ into the Helm chart.
	rm -f $(CHART_DIR)/crds/*.yaml
	cp config/crd/bases/*.yaml $(CHART_DIR)/crds/
	cp config/rbac/role.yaml $(CHART_DIR)/files/manager-role.yaml
	cp config/rbac/org_admin_role.yaml $(CHART_DIR)/files/org-admin-role.yaml
	cp config/policy/org_admin_limits.yaml $(CHART_DIR)/files/org-admin-limits.yaml
	cp config/policy/organization_finalizer.yaml $(CHART_DIR)/files/organization-finalizer.yaml

# The upgrade test (test/upgrade) upgrades from the CRDs and samples of an
# earlier commit, copied into test/upgrade/testdata/<commit>/ so that it needs
# no git history. Add a release to upgrade from: make upgrade-testdata REV=<commit>.
.PHONY: upgrade-testdata
upgrade-testdata: ## Copy the CRDs and samples of commit REV into test/upgrade/testdata/<REV>/ for the upgrade test.
	@test -n "$(REV)" || { echo "usage: make upgrade-testdata REV=<commit>"; exit 1; }
	hack/upgrade-testdata.sh "$(REV)"

.PHONY: verify-generated
verify-generated: generate manifests docs chart ## Fail when generated files (code, CRDs, RBAC, API reference, chart copies) are stale.
	@if [ -n "$$(git status --porcelain -- api config docs/reference $(CHART_DIR))" ]; then \
		echo "generated files are stale; run 'make generate manifests docs chart' and commit:"; \
		git status --porcelain -- api config docs/reference $(CHART_DIR); git --no-pager diff -- api config docs/reference $(CHART_DIR) | head -50; exit 1; fi

.PHONY: fmt
fmt:
	$(GO) fmt ./...

.PHONY: vet
vet:
	$(GO) vet ./...

.PHONY: kubectl
kubectl: ## Build kubectl from the Go module proxy into bin/kubectl (if you have none).
	@mkdir -p bin && ln -sf "$$(WITH_KUBECTL=1 hack/envtest/build.sh)/kubectl" bin/kubectl && bin/kubectl version --client

.PHONY: kubectl-org
kubectl-org: ## Build the kubectl plugin for organization admins into bin/kubectl-org (put it on your PATH: kubectl org ...).
	@mkdir -p bin
	$(GO) build -o bin/kubectl-org ./cmd/kubectl-org

.PHONY: helm
helm: ## Build Helm from the Go module proxy into bin/helm (if you have none), e.g. bin/helm template charts/orgkeeper.
	@mkdir -p bin
	cd test/chart && $(GO) build -o ../../bin/helm \
		-ldflags "-X helm.sh/helm/v3/internal/version.version=$$($(GO) list -m -f '{{.Version}}' helm.sh/helm/v3) \
		-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
		-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$$($(GO) list -m -f '{{.Version}}' k8s.io/api | cut -d. -f2)" \
		helm.sh/helm/v3/cmd/helm
	bin/helm version

.PHONY: envtest
envtest: ## Build the control-plane binaries once (cached under ~/.cache/orgkeeper).
	@hack/envtest/build.sh >/dev/null

##@ Test

# Separate Go modules with tests of their own (make test runs them too).
TOOL_MODULES := test/chart hack/image

.PHONY: test
test: envtest vet ## Run all tests against a real kube-apiserver.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) test ./... -count=1 -timeout 30m $(TEST_ARGS)
	@# The modules that keep Helm, kustomize and go-containerregistry out of the manager's build.
	for m in $(TOOL_MODULES); do (cd $$m && $(GO) vet ./... && KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) test ./... -count=1 -timeout 15m $(TEST_ARGS)); done

.PHONY: bench
bench: envtest ## Run the benchmarks (the scale run is make bench-scale).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) test ./... -run '^$$' -bench . -benchmem $(BENCH_ARGS)

##@ Build

.PHONY: build
build: generate
	$(GO) build -o bin/orgkeeper ./cmd/orgkeeper

# The image: `make image` writes bin/orgkeeper-image.tar. IMG names it; its
# tag defaults to appVersion of the chart, which is also the chart's default
# image.tag and config/manager's image tag (the chart test checks the last two
# agree), so one version names the image everywhere.
VERSION ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' charts/orgkeeper/Chart.yaml)
IMG ?= orgkeeper:$(VERSION)
IMAGE_ARCH ?= amd64
IMAGE_TAR ?= bin/orgkeeper-image.tar

.PHONY: image
image: ## Build the manager's image (static, non-root, no shell) into bin/orgkeeper-image.tar, without a container engine. IMG=name:tag
	@mkdir -p bin
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags '-s -w' -o bin/orgkeeper-linux-$(IMAGE_ARCH) ./cmd/orgkeeper
	cd hack/image && SOURCE_DATE_EPOCH="$$(git log -1 --format=%ct)" $(GO) run . build \
		-binary ../../bin/orgkeeper-linux-$(IMAGE_ARCH) -arch $(IMAGE_ARCH) -ref "$(IMG)" -out ../../$(IMAGE_TAR) \
		-version "$(VERSION)" -revision "$$(git rev-parse HEAD)"

.PHONY: verify-image
verify-image: ## Check bin/orgkeeper-image.tar: numeric non-root user, static entrypoint, CA bundle, no shell.
	cd hack/image && $(GO) run . verify ../../$(IMAGE_TAR)

.PHONY: help
help:
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

.PHONY: bench-scale
bench-scale: envtest ## Time 1,000 and 10,000 organizations to Ready (hack/orgscale).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) run ./hack/orgscale -orgs 1000 -depth 5
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) run ./hack/orgscale -orgs 10000 -depth 5 -timeout 20m
