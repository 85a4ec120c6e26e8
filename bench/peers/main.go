// drover-bench-peers: the programs bench/peers.bench.ts measures Drover against.
//
//	server  the Go reference: a proxy built like Rancher's. A reverse tunnel from
//	        rancher/remotedialer, one k8s.io/apimachinery UpgradeAwareHandler per
//	        request, and a client-go transport (bearer token of the impersonating
//	        account, the cluster CA, HTTP/1.1 upstream as Rancher's http.Transport)
//	        wrapped per request in client-go's impersonation round-tripper.
//	agent   the reference's agent: remotedialer's client, dialling what it is asked.
//	load    a neutral load generator: HTTP/1.1 keep-alive, one job per stdin line.
//
// Authentication is a constant-time comparison with one token, standing in for
// Rancher's token cache: the bench measures the relay, not the token lookup.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: drover-bench-peers server|agent|load [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = serverMain(os.Args[2:])
	case "agent":
		err = agentMain(os.Args[2:])
	case "load":
		err = loadMain(os.Args[2:])
	default:
		err = fmt.Errorf("unknown role %q: expected server, agent or load", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "drover-bench-peers %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
