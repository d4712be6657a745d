// Package layering holds the test that keeps vipd's import graph in the
// shape docs/design.md draws: cmd → daemon → node, controller → election,
// health, resource, hooks, admin → AWS clients, osnet; config imports none
// of them; only tests and `vipd demo` import the simulator. Each rule in
// layering_test.go says why it holds; a change that breaks one fails
// `make test` with the import that did it.
//
// It has no code; nothing imports it.
package layering
