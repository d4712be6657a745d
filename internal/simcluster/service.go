package simcluster

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Service is the tiny service a node fronts in a simulated cluster: it
// answers every connection with the node's name and a newline, so that a
// client (Prober) learns which node it reached. The nodes' health checks
// probe it too.
type Service struct {
	ln net.Listener
	wg sync.WaitGroup
	// unbind, if set, takes the service out of its fabric first.
	unbind func()
}

// Serve answers on ln as name until Close.
func Serve(ln net.Listener, name string) *Service {
	s := &Service{ln: ln}
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.SetDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(conn, name+"\n")
			conn.Close()
		}
	})
	return s
}

// Addr is where the service listens.
func (s *Service) Addr() netip.AddrPort {
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok {
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// Close stops the service and waits for it: a node's health check fails
// from then on.
func (s *Service) Close() {
	if s.unbind != nil {
		s.unbind()
	}
	s.ln.Close()
	s.wg.Wait()
}
