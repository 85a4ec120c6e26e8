package main

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	schedulinghelpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// scheduler binds pending pods to this node, and only those that would fit it:
// the required node affinity (nodeSelector included) matches the node's labels,
// every NoSchedule/NoExecute taint of the node is tolerated, and the pod asks
// for the default scheduler. Several test nodes may race for one pod; the
// binding subresource lets exactly one win and the others get 409 Conflict.
type scheduler struct {
	client kubernetes.Interface
	node   *nodeAgent
	log    *slog.Logger
}

func newScheduler(client kubernetes.Interface, node *nodeAgent, log *slog.Logger) *scheduler {
	return &scheduler{client: client, node: node, log: log}
}

// unscheduledListOptions selects what kube-scheduler watches: pods without a node
// that have not finished.
func unscheduledListOptions(o *metav1.ListOptions) {
	o.FieldSelector = fields.AndSelectors(
		fields.OneTermEqualSelector("spec.nodeName", ""),
		fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
		fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
	).String()
}

func (s *scheduler) watch(ctx context.Context, informer cache.SharedIndexInformer) {
	handle := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok {
			go s.schedule(ctx, pod)
		}
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, obj any) { handle(obj) },
	})
}

// fits reports whether the pod may run on this node.
func (s *scheduler) fits(pod *corev1.Pod) bool {
	if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil {
		return false
	}
	if name := pod.Spec.SchedulerName; name != "" && name != corev1.DefaultSchedulerName {
		return false
	}
	if ok, err := nodeaffinity.GetRequiredNodeAffinity(pod).Match(s.node.node); err != nil || !ok {
		return false
	}
	_, untolerated := schedulinghelpers.FindMatchingUntoleratedTaint(klog.Background(), s.node.node.Spec.Taints, pod.Spec.Tolerations,
		func(t *corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
		}, false)
	return !untolerated
}

func (s *scheduler) schedule(ctx context.Context, pod *corev1.Pod) {
	if !s.fits(pod) {
		return
	}
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: s.node.name},
	}
	for attempt := 0; attempt < 5; attempt++ {
		err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
		switch {
		case err == nil:
			s.log.Info("pod bound", "namespace", pod.Namespace, "pod", pod.Name)
			return
		case apierrors.IsConflict(err), apierrors.IsNotFound(err), apierrors.IsAlreadyExists(err), ctx.Err() != nil:
			return // another node won, or the pod is gone
		}
		s.log.Warn("binding failed; retrying", "namespace", pod.Namespace, "pod", pod.Name, "err", err)
		time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond)
	}
}
