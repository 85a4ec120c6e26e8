package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
)

const (
	streamIdleTimeout     = 4 * time.Hour
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

// newKubeletHandler serves the parts of the kubelet API that kube-apiserver
// calls for pods/log, pods/exec, pods/attach and pods/portforward. The
// streaming endpoints are Kubernetes' own remotecommand and portforward
// servers (SPDY; kube-apiserver translates kubectl's WebSocket to SPDY because
// this node does not declare the ExtendWebSocketsToKubelet feature).
func newKubeletHandler(pods *podManager, log *slog.Logger) http.Handler {
	h := &kubeletHandler{pods: pods, runtime: &streamingRuntime{pods: pods}, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", h.containerLogs)
	for _, p := range []string{"/exec/{ns}/{pod}/{container}", "/exec/{ns}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(p, h.exec)
	}
	for _, p := range []string{"/attach/{ns}/{pod}/{container}", "/attach/{ns}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(p, h.attach)
	}
	for _, p := range []string{"/portForward/{ns}/{pod}", "/portForward/{ns}/{pod}/{uid}"} {
		mux.HandleFunc(p, h.portForward)
	}
	return mux
}

type kubeletHandler struct {
	pods    *podManager
	runtime *streamingRuntime
	log     *slog.Logger
}

func podKey(r *http.Request) string { return r.PathValue("ns") + "/" + r.PathValue("pod") }

func (h *kubeletHandler) containerLogs(w http.ResponseWriter, r *http.Request) {
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		http.Error(w, "invalid log options: "+err.Error(), http.StatusBadRequest)
		return
	}
	pod, err := h.pods.lookup(podKey(r), "")
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	c, err := pod.container(r.PathValue("container"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	c.mu.Lock()
	attempt, started := c.attempt, c.started
	c.mu.Unlock()
	if opts.Previous {
		attempt--
	}
	if !started || attempt < 0 {
		http.Error(w, fmt.Sprintf("container %q in pod %s has no %slog yet", c.spec.Name, pod.key, map[bool]string{true: "previous "}[opts.Previous]), http.StatusBadRequest)
		return
	}
	path := c.logPath(attempt)
	if _, err := os.Stat(path); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	running := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.attempt == attempt && c.phase == phaseRunning
	}
	if err := serveLog(r.Context(), w, path, opts, running); err != nil {
		h.log.Warn("serving logs failed", "pod", pod.key, "err", err)
	}
}

// knownPod answers 404 itself when the request names a pod this node does not run.
func (h *kubeletHandler) knownPod(w http.ResponseWriter, r *http.Request) bool {
	if _, err := h.pods.lookup(podKey(r), r.PathValue("uid")); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return false
	}
	return true
}

func (h *kubeletHandler) exec(w http.ResponseWriter, r *http.Request) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !h.knownPod(w, r) {
		return
	}
	remotecommand.ServeExec(w, r, h.runtime, podKey(r), r.PathValue("uid"), r.PathValue("container"),
		r.URL.Query()["command"], opts, streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func (h *kubeletHandler) attach(w http.ResponseWriter, r *http.Request) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !h.knownPod(w, r) {
		return
	}
	remotecommand.ServeAttach(w, r, h.runtime, podKey(r), r.PathValue("uid"), r.PathValue("container"),
		opts, streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func (h *kubeletHandler) portForward(w http.ResponseWriter, r *http.Request) {
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !h.knownPod(w, r) {
		return
	}
	portforward.ServePortForward(w, r, h.runtime, podKey(r), r.PathValue("uid"), opts,
		streamIdleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
}
