// Package daemon runs what `vipd run` and `vipd controller` start: it builds
// a node (or witness) or a controller from a loaded configuration, serves
// the admin socket and the metrics listener beside it, reloads the health
// checks and notify scripts on SIGHUP, and tells systemd when the node is
// ready and alive.
//
// It exists so that cmd/vipd only parses flags: Run and RunController own
// every goroutine they start and return after all of them have exited.
// Only cmd imports it (internal/layering holds the rule).
package daemon
