package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

const (
	// ownerLabel marks Nodes this program registered; it never takes over others.
	ownerLabel     = "drover.dev/test-node"
	kubeletVersion = "v1.36.3"
	leaseNamespace = "kube-node-lease"
	heartbeatEvery = 10 * time.Second
	leaseSeconds   = 40
)

// nodeAgent owns the Node object and its Lease.
type nodeAgent struct {
	client kubernetes.Interface
	name   string
	port   int32
	log    *slog.Logger
	node   *corev1.Node // as registered: labels and taints the scheduler matches against
}

func newNodeAgent(client kubernetes.Interface, name string, port int32, labels, taints []string, log *slog.Logger) (*nodeAgent, error) {
	n := &nodeAgent{client: client, name: name, port: port, log: log}
	n.node = &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname": name,
			"kubernetes.io/os":       runtime.GOOS,
			"kubernetes.io/arch":     runtime.GOARCH,
			ownerLabel:               "true",
		}},
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q is not KEY=VALUE", l)
		}
		n.node.Labels[k] = v
	}
	for _, t := range taints {
		kv, effect, ok := strings.Cut(t, ":")
		k, v, _ := strings.Cut(kv, "=")
		switch e := corev1.TaintEffect(effect); {
		case !ok || k == "", e != corev1.TaintEffectNoSchedule && e != corev1.TaintEffectPreferNoSchedule && e != corev1.TaintEffectNoExecute:
			return nil, fmt.Errorf("--taint %q is not KEY=VALUE:NoSchedule|PreferNoSchedule|NoExecute", t)
		default:
			n.node.Spec.Taints = append(n.node.Spec.Taints, corev1.Taint{Key: k, Value: v, Effect: e})
		}
	}
	return n, nil
}

// register creates the Node (or reclaims one this program made earlier under
// the same name), publishes its status, and creates its Lease.
func (n *nodeAgent) register(ctx context.Context) error {
	_, err := n.client.CoreV1().Nodes().Create(ctx, n.node.DeepCopy(), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if getErr != nil {
			return fmt.Errorf("could not read existing Node %s: %w", n.name, getErr)
		}
		if existing.Labels[ownerLabel] != "true" {
			return fmt.Errorf("node %s exists and was not registered by drover-test-kubelet; pick another --node-name", n.name)
		}
		existing.Labels, existing.Spec.Taints = n.node.Labels, n.node.Spec.Taints
		_, err = n.client.CoreV1().Nodes().Update(ctx, existing, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("could not register Node %s: %w", n.name, err)
	}
	if err := n.updateStatus(ctx); err != nil {
		return fmt.Errorf("could not publish the status of Node %s: %w", n.name, err)
	}
	if err := n.renewLease(ctx); err != nil {
		return fmt.Errorf("could not create the Lease of Node %s: %w", n.name, err)
	}
	n.log.Info("node registered", "node", n.name, "port", n.port)
	return nil
}

func (n *nodeAgent) heartbeat(ctx context.Context) {
	ticker := time.NewTicker(heartbeatEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if err := n.renewLease(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("lease renewal failed", "err", err)
		}
		if err := n.updateStatus(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("node status update failed", "err", err)
		}
	}
}

func (n *nodeAgent) status(previous corev1.NodeStatus) corev1.NodeStatus {
	now := metav1.Now()
	condition := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, message string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: message, LastHeartbeatTime: now, LastTransitionTime: now}
		for _, old := range previous.Conditions {
			if old.Type == t && old.Status == s {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		return c
	}
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory:           resource.MustParse("8Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("20Gi"),
	}
	return corev1.NodeStatus{
		Capacity:    resources,
		Allocatable: resources.DeepCopy(),
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			condition(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			condition(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			condition(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			condition(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "drover-test-kubelet is posting ready status"),
		},
		// Only an InternalIP: kube-apiserver prefers a Hostname address, which
		// would make it resolve the node name.
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: n.port}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               n.name,
			SystemUUID:              n.name,
			BootID:                  n.name,
			KernelVersion:           "drover-test",
			OSImage:                 "drover-test-kubelet (local processes)",
			ContainerRuntimeVersion: "drover-test://1.0.0",
			KubeletVersion:          kubeletVersion,
			OperatingSystem:         runtime.GOOS,
			Architecture:            runtime.GOARCH,
		},
	}
}

func (n *nodeAgent) updateStatus(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		node, err := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Status = n.status(node.Status)
		_, err = n.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

func (n *nodeAgent) renewLease(ctx context.Context) error {
	leases := n.client.CoordinationV1().Leases(leaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, getErr := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if getErr != nil {
			return getErr
		}
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name: n.name, Namespace: leaseNamespace,
				// Garbage collection removes the Lease with the Node.
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: ptr.To(n.name), LeaseDurationSeconds: ptr.To[int32](leaseSeconds), RenewTime: &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// remove deletes the Lease and the Node at shutdown.
func (n *nodeAgent) remove(ctx context.Context) {
	if err := n.client.CoordinationV1().Leases(leaseNamespace).Delete(ctx, n.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		n.log.Warn("could not delete the node lease", "err", err)
	}
	if err := n.client.CoreV1().Nodes().Delete(ctx, n.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		n.log.Warn("could not delete the node", "err", err)
	}
}
