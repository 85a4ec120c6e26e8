// Command drover-test-kubelet is a test node for Drover's end-to-end tests: it
// registers a Node, schedules matching pods onto itself, runs their containers
// as local processes, and serves the kubelet API (logs, exec, attach,
// port-forward) through Kubernetes' own streaming-server packages, so that
// kube-apiserver and kubectl stay real. See README.md for what it trusts.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type options struct {
	kubeconfig string
	nodeName   string
	listen     string
	workDir    string
	labels     stringList
	taints     stringList
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var opts options
	flag.StringVar(&opts.kubeconfig, "kubeconfig", "", "kubeconfig of the control plane (admin)")
	flag.StringVar(&opts.nodeName, "node-name", "", "name of the Node to register")
	flag.StringVar(&opts.listen, "listen", "127.0.0.1:0", "address of the kubelet API (loopback only)")
	flag.StringVar(&opts.workDir, "work-dir", "", "directory for pod working directories and logs")
	flag.Var(&opts.labels, "label", "extra node label KEY=VALUE (repeatable)")
	flag.Var(&opts.taints, "taint", "node taint KEY=VALUE:EFFECT (repeatable); pods must tolerate it to be scheduled here")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if opts.kubeconfig == "" || opts.nodeName == "" || opts.workDir == "" {
		fmt.Fprintln(os.Stderr, "drover-test-kubelet: --kubeconfig, --node-name and --work-dir are required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, opts, log); err != nil {
		log.Error("drover-test-kubelet failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(opts.listen)
	if err != nil {
		return fmt.Errorf("--listen %q is not host:port: %w", opts.listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		// Nothing here authenticates its callers: never serve beyond this machine.
		return fmt.Errorf("--listen %q must be a loopback address such as 127.0.0.1:0", opts.listen)
	}
	workDir, err := filepath.Abs(opts.workDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return fmt.Errorf("could not create --work-dir: %w", err)
	}

	restConfig, err := clientcmd.BuildConfigFromFlags("", opts.kubeconfig)
	if err != nil {
		return fmt.Errorf("could not load --kubeconfig: %w", err)
	}
	restConfig.QPS, restConfig.Burst = 50, 100
	restConfig.UserAgent = "drover-test-kubelet/" + opts.nodeName
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}

	tlsConfig, err := selfSignedTLS(opts.nodeName, host)
	if err != nil {
		return fmt.Errorf("could not create the serving certificate: %w", err)
	}
	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("could not listen on %s: %w", opts.listen, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port

	pods := newPodManager(client, opts.nodeName, workDir, log)
	server := &http.Server{
		Handler:           newKubeletHandler(pods, log),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(tls.NewListener(ln, tlsConfig)) }()
	log.Info("kubelet API listening", "address", ln.Addr().String())

	node, err := newNodeAgent(client, opts.nodeName, int32(port), opts.labels, opts.taints, log)
	if err != nil {
		return err
	}
	if err := node.register(ctx); err != nil {
		return err
	}

	own := informers.NewSharedInformerFactoryWithOptions(client, 10*time.Minute,
		informers.WithTweakListOptions(pods.listOptions))
	pods.watch(ctx, own.Core().V1().Pods().Informer())
	unscheduled := informers.NewSharedInformerFactoryWithOptions(client, 30*time.Second,
		informers.WithTweakListOptions(unscheduledListOptions))
	sched := newScheduler(client, node, log)
	sched.watch(ctx, unscheduled.Core().V1().Pods().Informer())
	own.Start(ctx.Done())
	unscheduled.Start(ctx.Done())
	go node.heartbeat(ctx)
	log.Info("test node running", "node", opts.nodeName, "port", port)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		log.Error("kubelet API stopped", "err", err)
	}

	log.Info("shutting down: stopping pods and removing the node")
	cleanup, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pods.shutdown(cleanup)
	node.remove(cleanup)
	_ = server.Close()
	own.Shutdown()
	unscheduled.Shutdown()
	return nil
}
