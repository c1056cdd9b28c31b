package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

// TestDevComesUpWithTheDemoWorldAndStopsCleanly runs `orgkeeper dev` in
// process: it must print its ready line once the demo organizations are
// Ready, leave a usable kubeconfig, and on cancellation (what Ctrl-C does)
// return without error and leave no process behind.
func TestDevComesUpWithTheDemoWorldAndStopsCleanly(t *testing.T) {
	if _, ok := os.LookupEnv("KUBEBUILDER_ASSETS"); !ok && !buildScriptFound() {
		t.Skip(devenv.ErrNoAssets.Error())
	}
	fl := &devFlags{stateDir: t.TempDir(), readyTimeout: 2 * time.Minute, log: devLogOptions(),
		httpAddr: "127.0.0.1:8080", demoAddr: "127.0.0.1:9090", upstreamAddr: "127.0.0.1:9091"}
	fl.log.DestWriter = io.Discard
	setupLogging(&fl.log)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, lines := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runDev(ctx, &interrupts{}, lines, fl)
		_ = lines.Close()
	}()

	ready := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if strings.Contains(s.Text(), "orgkeeper dev ready") {
				ready <- s.Text()
			}
		}
	}()
	select {
	case line := <-ready:
		kubeconfig := filepath.Join(fl.stateDir, "kubeconfig")
		if !strings.Contains(line, kubeconfig) {
			t.Errorf("the ready line %q does not name the kubeconfig %s", line, kubeconfig)
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			t.Errorf("the kubeconfig is not usable: %v", err)
		} else {
			demoDomainsVerifyOverDNS(t, cfg)
		}
		// The organization admins' kubeconfig signs in with the plugin.
		admins, err := clientcmd.LoadFromFile(filepath.Join(fl.stateDir, "kubeconfig-admins"))
		if err != nil {
			t.Errorf("kubeconfig-admins: %v", err)
		} else if u := admins.AuthInfos["orgkeeper"]; u == nil || u.Exec == nil || !slices.Contains(u.Exec.Args, "--issuer-url=https://127.0.0.1:8080") {
			t.Errorf("kubeconfig-admins does not sign in with kubectl-org at the issuer: %+v", admins.AuthInfos)
		}
		// The issuer (HTTPS, from the CA in the state directory) and the
		// demo application serve as soon as the line is out.
		ca, err := os.ReadFile(filepath.Join(fl.stateDir, "issuer-ca.crt"))
		if err != nil {
			t.Fatalf("the issuer's CA: %v", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		for _, want := range []struct{ url, contains string }{
			{"https://127.0.0.1:8080/.well-known/openid-configuration", `"issuer":"https://127.0.0.1:8080"`},
			{"http://127.0.0.1:9090/", "Sign in"},
		} {
			if !strings.Contains(line, strings.TrimSuffix(strings.Split(want.url, "/.well-known")[0], "/")) {
				t.Errorf("the ready line %q does not name %s", line, want.url)
			}
			body, err := httpGet(hc, want.url)
			if err != nil || !strings.Contains(body, want.contains) {
				t.Errorf("GET %s: %v, body does not contain %q: %.300s", want.url, err, want.contains, body)
			}
		}
	case err := <-done:
		if errors.Is(err, devenv.ErrNoAssets) {
			t.Skip(err.Error())
		}
		t.Fatalf("dev returned before it was ready: %v", err)
	case <-time.After(4 * time.Minute):
		t.Fatal("dev did not get ready within 4 minutes")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("dev did not stop cleanly: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("dev did not stop within a minute")
	}
	if left := controlPlaneChildren(); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func TestHelpDescribesEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"manager", "--help"}, {"dev", "--help"}} {
		root := newRootCommand()
		var buf strings.Builder
		root.SetOut(&buf)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(buf.String(), "Usage:") {
			t.Errorf("%v printed no usage:\n%s", args, buf.String())
		}
	}
}

func buildScriptFound() bool {
	_, err := os.Stat(filepath.Join("..", "..", "hack", "envtest", "build.sh"))
	return err == nil
}

// controlPlaneChildren lists our child processes that run a control-plane
// binary (Linux only; elsewhere it finds none).
func controlPlaneChildren() []string {
	if runtime.GOOS != "linux" {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) || fields[0] == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		name := filepath.Base(strings.SplitN(string(cmdline), "\x00", 2)[0])
		switch name {
		case "etcd", "kube-apiserver", "kube-controller-manager":
			found = append(found, name+" "+strconv.Itoa(pid))
		}
	}
	return found
}

func httpGet(hc *http.Client, url string) (string, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %s", resp.Status)
	}
	return string(b), err
}
