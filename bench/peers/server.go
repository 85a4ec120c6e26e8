package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rancher/remotedialer"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
)

const clusterID = "c-ref"

// The user the bench's member token stands for, impersonated as Rancher does.
var member = transport.ImpersonationConfig{UserName: "bench-member", Groups: []string{"system:authenticated", "system:cattle:authenticated"}}

type errorResponder struct{}

func (errorResponder) Error(w http.ResponseWriter, _ *http.Request, err error) {
	http.Error(w, "upstream failed: "+err.Error(), http.StatusBadGateway)
}

func serverMain(args []string) error {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	apiserver := fs.String("apiserver", "", "kube-apiserver URL as the agent reaches it")
	caFile := fs.String("ca-file", "", "the cluster CA (PEM)")
	accountToken := fs.String("account-token", "", "token of the account that impersonates")
	agentToken := fs.String("agent-token", "", "token the agent presents")
	userToken := fs.String("user-token", "", "token the member presents")
	_ = fs.Parse(args)
	ca, err := os.ReadFile(*caFile)
	if err != nil {
		return fmt.Errorf("reading the cluster CA: %w", err)
	}
	target, err := url.Parse(*apiserver)
	if err != nil {
		return fmt.Errorf("parsing --apiserver: %w", err)
	}

	tunnel := remotedialer.New(func(req *http.Request) (string, bool, error) {
		return clusterID, equal(req.Header.Get("X-Agent-Token"), *agentToken), nil
	}, remotedialer.DefaultErrorWriter)
	dial := tunnel.Dialer(clusterID)
	// Built once and kept, as Rancher caches a transport per cluster.
	base, err := rest.TransportFor(&rest.Config{
		Host:            *apiserver,
		BearerToken:     *accountToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca, NextProtos: []string{"http/1.1"}},
		Dial:            dial,
	})
	if err != nil {
		return fmt.Errorf("building the upstream transport: %w", err)
	}

	prefix := "/k8s/clusters/" + clusterID
	mux := http.NewServeMux()
	mux.Handle("/connect", tunnel)
	mux.HandleFunc(prefix+"/", func(w http.ResponseWriter, req *http.Request) {
		if !equal(strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "), *userToken) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		req.Header.Del("Authorization")
		location := *target
		location.Path = strings.TrimPrefix(req.URL.Path, prefix)
		location.RawQuery = req.URL.RawQuery
		handler := proxy.NewUpgradeAwareHandler(&location, transport.NewImpersonatingRoundTripper(member, base), true, false, errorResponder{})
		handler.UseLocationHost = true
		handler.ServeHTTP(w, req)
	})

	cert, err := selfSigned()
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	// The orchestrator reads the port from this line.
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)
	server := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 30 * time.Second}
	return server.ServeTLS(listener, "", "")
}

func equal(a, b string) bool {
	return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "drover-bench-reference"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
