// Package bench compares gemhook with the libraries users would otherwise
// pick. It is a module of its own so that gemhook's users never inherit
// those libraries. Run: cd bench && go test -bench . -benchmem
package bench
