// Package e2e holds vipd's multi-process end-to-end tests: real vipd node
// and witness processes on loopback, against vpcsim, through the proxy
// fabric. They build with the e2e tag and need the binaries that `make e2e`
// builds (VIPD_BIN). Everything they start is on 127.0.0.1 and is stopped
// and removed when a test ends, failing or not.
package e2e
