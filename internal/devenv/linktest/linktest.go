// Package linktest gives tests a TCP link to a server (the API server,
// usually) that they can pause or cut, to play a process whose connection
// falls behind or that dies.
package linktest

import (
	"net"
	"net/url"
	"sync"
)

// TB is the part of testing.TB a Link needs; GinkgoT() has it too.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// Link forwards the TCP connections made to a loopback port to the host
// of a target URL. While paused, bytes read on either side wait; once cut,
// every connection is dropped and new ones are refused, so that to the
// server the client behind the link is gone. It is cut at cleanup.
type Link struct {
	url      string
	listener net.Listener

	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
	cut    bool
	conns  []net.Conn
}

// New starts a link to the host of target (such as rest.Config.Host).
func New(tb TB, target string) *Link {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	k := &Link{listener: l, url: u.Scheme + "://" + l.Addr().String()}
	k.cond = sync.NewCond(&k.mu)
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return // cut
			}
			out, err := net.Dial("tcp", u.Host)
			if err != nil {
				_ = in.Close()
				continue
			}
			if !k.track(in, out) {
				continue
			}
			go k.copy(out, in)
			go k.copy(in, out)
		}
	}()
	tb.Cleanup(k.Cut)
	return k
}

// URL is the target's URL with the link's address as its host, for a
// client to use in place of the target.
func (k *Link) URL() string { return k.url }

// Pause holds every byte sent either way until Resume.
func (k *Link) Pause() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.paused = true
}

// Resume lets the bytes held since Pause through.
func (k *Link) Resume() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.paused = false
	k.cond.Broadcast()
}

// Cut drops every connection and refuses new ones, for good.
func (k *Link) Cut() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cut, k.paused = true, false
	k.cond.Broadcast()
	_ = k.listener.Close()
	for _, c := range k.conns {
		_ = c.Close()
	}
	k.conns = nil
}

// track keeps conns to close at Cut, or closes them if the link is cut.
func (k *Link) track(conns ...net.Conn) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cut {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	k.conns = append(k.conns, conns...)
	return true
}

func (k *Link) copy(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			k.mu.Lock()
			for k.paused {
				k.cond.Wait()
			}
			k.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF, or the connection was closed
		}
	}
}
