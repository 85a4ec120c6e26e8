package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestExpandFollowsKubernetesRules(t *testing.T) {
	vars := map[string]string{"A": "1", "B_2": "two"}
	for in, want := range map[string]string{
		"$(A)-$(B_2)":   "1-two",
		"$(MISSING)":    "$(MISSING)",
		"$$(A)":         "$(A)",
		"echo $$$$":     "echo $$",
		"plain $A text": "plain $A text",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeLog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := newLogWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	w.write("stdout", []byte("one\ntwo\n"))
	w.write("stderr", []byte("oops\n"))
	w.write("stdout", []byte("three\npart"))
	w.close()
	return path
}

func readLog(t *testing.T, path string, o *corev1.PodLogOptions) string {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := serveLog(context.Background(), rec, path, o, func() bool { return false }); err != nil {
		t.Fatal(err)
	}
	return rec.Body.String()
}

func TestLogsKeepStreamsLinesAndPartialWrites(t *testing.T) {
	path := writeLog(t)
	if got := readLog(t, path, &corev1.PodLogOptions{}); got != "one\ntwo\noops\nthree\npart" {
		t.Errorf("all: %q", got)
	}
	if got := readLog(t, path, &corev1.PodLogOptions{Stream: ptr.To("stderr")}); got != "oops\n" {
		t.Errorf("stderr only: %q", got)
	}
	if got := readLog(t, path, &corev1.PodLogOptions{TailLines: ptr.To[int64](2)}); got != "three\npart" {
		t.Errorf("tail 2: %q", got)
	}
	if got := readLog(t, path, &corev1.PodLogOptions{TailLines: ptr.To[int64](0)}); got != "" {
		t.Errorf("tail 0: %q", got)
	}
	if got := readLog(t, path, &corev1.PodLogOptions{LimitBytes: ptr.To[int64](6)}); got != "one\ntw" {
		t.Errorf("limit 6: %q", got)
	}
	stamped := readLog(t, path, &corev1.PodLogOptions{Timestamps: true, TailLines: ptr.To[int64](1)})
	if !strings.HasSuffix(stamped, "Z part") || strings.Count(stamped, " ") != 1 {
		t.Errorf("timestamps: %q", stamped)
	}
}

func TestLogOptionsRejectGarbage(t *testing.T) {
	if _, err := parseLogOptions(map[string][]string{"tailLines": {"ten"}}); err == nil {
		t.Error("a non-numeric tailLines was accepted")
	}
	o, err := parseLogOptions(map[string][]string{"follow": {"true"}, "tailLines": {"3"}})
	if err != nil || !o.Follow || *o.TailLines != 3 {
		t.Errorf("follow/tailLines: %+v %v", o, err)
	}
}

func TestSchedulerBindsOnlyPodsThatFit(t *testing.T) {
	node, err := newNodeAgent(nil, "n1", 1, []string{"zone=a"}, []string{"dedicated=drover:NoSchedule"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &scheduler{node: node}
	toleration := []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "drover", Effect: corev1.TaintEffectNoSchedule}}
	pod := func(selector map[string]string, tolerations []corev1.Toleration, mutate func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{Spec: corev1.PodSpec{NodeSelector: selector, Tolerations: tolerations}}
		if mutate != nil {
			mutate(p)
		}
		return p
	}
	cases := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"a tolerating pod without selector fits", pod(nil, toleration, nil), true},
		{"a pod selecting this hostname and label fits", pod(map[string]string{"kubernetes.io/hostname": "n1", "zone": "a"}, toleration, nil), true},
		{"a pod that does not tolerate the taint is refused", pod(nil, nil, nil), false},
		{"a pod selecting another hostname is refused", pod(map[string]string{"kubernetes.io/hostname": "n2"}, toleration, nil), false},
		{"a pod asking for another scheduler is refused", pod(nil, toleration, func(p *corev1.Pod) { p.Spec.SchedulerName = "other" }), false},
		{"a pod already bound is refused", pod(nil, toleration, func(p *corev1.Pod) { p.Spec.NodeName = "n2" }), false},
	}
	for _, c := range cases {
		if got := s.fits(c.pod); got != c.want {
			t.Errorf("%s: fits = %v", c.name, got)
		}
	}
	if _, err := newNodeAgent(nil, "n1", 1, nil, []string{"bad"}, nil); err == nil {
		t.Error("a taint without effect was accepted")
	}
}
