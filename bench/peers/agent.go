package main

import (
	"context"
	"crypto/tls"
	"flag"
	"net/http"

	"github.com/gorilla/websocket"
	"github.com/rancher/remotedialer"
)

func agentMain(args []string) error {
	fs := flag.NewFlagSet("agent", flag.ExitOnError)
	server := fs.String("server", "", "wss:// URL of the reference server's /connect")
	token := fs.String("token", "", "the agent's token")
	_ = fs.Parse(args)
	headers := http.Header{"X-Agent-Token": {*token}}
	// The bench's server certificate is self-signed; the tunnel's trust is not what is measured.
	dialer := &websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // bench only
	allow := func(string, string) bool { return true }
	for {
		_ = remotedialer.ClientConnect(context.Background(), *server, headers, dialer, allow, nil)
	}
}
