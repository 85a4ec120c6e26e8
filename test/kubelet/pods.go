package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

const maxBackoff = 10 * time.Second

// podManager runs the pods bound to this node, one podWorker each.
type podManager struct {
	client   kubernetes.Interface
	nodeName string
	workDir  string
	log      *slog.Logger
	store    cache.Store

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	byName  map[string]*podWorker // namespace/name
	groups  map[int]struct{}      // process groups alive, mirrored to workDir/pgids
}

func newPodManager(client kubernetes.Interface, nodeName, workDir string, log *slog.Logger) *podManager {
	return &podManager{
		client: client, nodeName: nodeName, workDir: workDir, log: log,
		workers: map[types.UID]*podWorker{}, byName: map[string]*podWorker{}, groups: map[int]struct{}{},
	}
}

func (m *podManager) listOptions(o *metav1.ListOptions) {
	o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", m.nodeName).String()
}

func (m *podManager) watch(ctx context.Context, informer cache.SharedIndexInformer) {
	m.store = informer.GetStore()
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.sync(ctx, obj) },
		UpdateFunc: func(_, obj any) { m.sync(ctx, obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				m.deleted(pod)
			}
		},
	})
}

func (m *podManager) sync(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	m.mu.Lock()
	w := m.workers[pod.UID]
	if w == nil {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			m.mu.Unlock()
			// Nothing of ours runs for it (finished before a restart, or deleted
			// before it started): confirm a pending deletion at once.
			if pod.DeletionTimestamp != nil {
				go m.confirmDeletion(pod.Namespace, pod.Name, pod.UID)
			}
			return
		}
		w = newPodWorker(m, pod)
		m.workers[pod.UID] = w
		m.byName[pod.Namespace+"/"+pod.Name] = w
		m.mu.Unlock()
		go w.run(ctx)
		return
	}
	m.mu.Unlock()
	w.setPod(pod)
	if pod.DeletionTimestamp != nil {
		grace := int64(30)
		if pod.DeletionGracePeriodSeconds != nil {
			grace = *pod.DeletionGracePeriodSeconds
		}
		go m.stop(w, time.Duration(grace)*time.Second, true)
	}
}

func (m *podManager) deleted(pod *corev1.Pod) {
	m.mu.Lock()
	w := m.workers[pod.UID]
	m.mu.Unlock()
	if w != nil {
		go m.stop(w, 0, false)
	}
}

// stop kills the pod's processes (SIGTERM, SIGKILL after grace), forgets the
// pod, and when confirm is set deletes it with grace period 0 as kubelet does.
func (m *podManager) stop(w *podWorker, grace time.Duration, confirm bool) {
	w.terminate(grace)
	m.mu.Lock()
	if m.workers[w.uid] == w {
		delete(m.workers, w.uid)
	}
	if m.byName[w.key] == w {
		delete(m.byName, w.key)
	}
	m.mu.Unlock()
	if confirm {
		m.confirmDeletion(w.namespace, w.name, w.uid)
	}
}

func (m *podManager) confirmDeletion(namespace, name string, uid types.UID) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := m.client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		m.log.Warn("could not confirm pod deletion", "namespace", namespace, "pod", name, "err", err)
		return
	}
	m.log.Info("pod deleted", "namespace", namespace, "pod", name)
}

// shutdown stops every pod and deletes the pods bound to this node: with the
// node gone nothing else would ever confirm their deletion (there is no pod
// garbage collector in the test control plane), and namespaces would hang.
func (m *podManager) shutdown(ctx context.Context) {
	m.mu.Lock()
	workers := make([]*podWorker, 0, len(m.workers))
	for _, w := range m.workers {
		workers = append(workers, w)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { m.stop(w, 2*time.Second, false) })
	}
	wg.Wait()
	if m.store == nil {
		return
	}
	for _, obj := range m.store.List() {
		if pod, ok := obj.(*corev1.Pod); ok && ctx.Err() == nil {
			m.confirmDeletion(pod.Namespace, pod.Name, pod.UID)
		}
	}
}

// lookup finds a running pod by "namespace/name" (and UID when given).
func (m *podManager) lookup(key, uid string) (*podWorker, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.byName[key]
	if w == nil || (uid != "" && string(w.uid) != uid) {
		return nil, fmt.Errorf("pod %s does not exist on node %s", key, m.nodeName)
	}
	return w, nil
}

// trackGroup records live process groups in workDir/pgids, so that the test
// harness can kill them even if this program is killed without cleanup.
func (m *podManager) trackGroup(pgid int, alive bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if alive {
		m.groups[pgid] = struct{}{}
	} else {
		delete(m.groups, pgid)
	}
	lines := make([]string, 0, len(m.groups))
	for g := range m.groups {
		lines = append(lines, strconv.Itoa(g))
	}
	sort.Strings(lines)
	tmp := filepath.Join(m.workDir, "pgids.tmp")
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")), 0o644); err == nil {
		_ = os.Rename(tmp, filepath.Join(m.workDir, "pgids"))
	}
}

// podWorker runs one pod: init containers in order, then the app containers,
// each restarted according to restartPolicy. Readiness, liveness and startup
// probes are not run: a running container counts as ready.
type podWorker struct {
	m         *podManager
	uid       types.UID
	namespace string
	name      string
	key       string
	dir       string
	startTime metav1.Time
	kick      chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc
	stopOnce  sync.Once
	stopped   chan struct{}

	mu         sync.Mutex
	pod        *corev1.Pod
	init       []*container
	containers []*container
	initDone   bool
	initFailed bool
	execs      map[int]struct{} // process groups of exec sessions
}

func newPodWorker(m *podManager, pod *corev1.Pod) *podWorker {
	w := &podWorker{
		m: m, uid: pod.UID, namespace: pod.Namespace, name: pod.Name, key: pod.Namespace + "/" + pod.Name,
		dir:       filepath.Join(m.workDir, "pods", string(pod.UID)),
		startTime: metav1.Now(), kick: make(chan struct{}, 1), stopped: make(chan struct{}),
		pod: pod.DeepCopy(), execs: map[int]struct{}{},
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w
}

func (w *podWorker) setPod(pod *corev1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pod = pod.DeepCopy()
}

func (w *podWorker) currentPod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) kickStatus() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *podWorker) container(name string) (*container, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range append(append([]*container{}, w.containers...), w.init...) {
		if c.spec.Name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("container %q not found in pod %s", name, w.key)
}

func (w *podWorker) run(parent context.Context) {
	pod := w.currentPod()
	w.m.log.Info("starting pod", "namespace", w.namespace, "pod", w.name)
	go w.statusLoop(parent)
	var initCs, appCs []*container
	for _, spec := range pod.Spec.InitContainers {
		c, err := newContainer(w, spec, "init")
		if err != nil {
			w.m.log.Error("could not prepare container", "pod", w.key, "err", err)
			return
		}
		initCs = append(initCs, c)
	}
	for _, spec := range pod.Spec.Containers {
		c, err := newContainer(w, spec, "containers")
		if err != nil {
			w.m.log.Error("could not prepare container", "pod", w.key, "err", err)
			return
		}
		appCs = append(appCs, c)
	}
	w.mu.Lock()
	w.init, w.containers = initCs, appCs
	w.mu.Unlock()
	w.kickStatus()

	policy := pod.Spec.RestartPolicy
	for _, c := range initCs {
		// An init container must succeed; failures restart it unless policy is Never.
		if !w.supervise(c, func() bool { return c.exitCodeOf() != 0 && policy != corev1.RestartPolicyNever }) {
			return
		}
		if c.exitCodeOf() != 0 {
			w.mu.Lock()
			w.initFailed = true
			w.mu.Unlock()
			w.kickStatus()
			return
		}
	}
	w.mu.Lock()
	w.initDone = true
	w.mu.Unlock()
	w.kickStatus()
	for _, c := range appCs {
		go w.supervise(c, func() bool { return c.willRestart(policy) })
	}
}

// supervise runs c until it exits for good; false when the pod is stopping.
func (w *podWorker) supervise(c *container, restart func() bool) bool {
	backoff := time.Second
	for {
		if w.ctx.Err() != nil {
			return false
		}
		if err := c.start(); err != nil {
			w.m.log.Warn("container did not start", "pod", w.key, "container", c.spec.Name, "err", err)
		} else {
			if w.ctx.Err() != nil {
				// terminate ran while this attempt was starting and could not see it.
				c.signal(syscall.SIGKILL)
				return false
			}
			w.kickStatus()
			select {
			case <-c.exitedChan():
			case <-w.ctx.Done():
				return false
			}
			if !restart() {
				return true
			}
			c.setWaiting("CrashLoopBackOff")
		}
		w.kickStatus()
		select {
		case <-time.After(backoff):
		case <-w.ctx.Done():
			return false
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (c *container) exitCodeOf() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exitCode
}

// terminate stops all of the pod's processes: SIGTERM to each process group,
// SIGKILL to what is left after grace. Safe to call more than once.
func (w *podWorker) terminate(grace time.Duration) {
	w.stopOnce.Do(func() {
		w.cancel()
		w.mu.Lock()
		all := append(append([]*container{}, w.init...), w.containers...)
		execs := make([]int, 0, len(w.execs))
		for g := range w.execs {
			execs = append(execs, g)
		}
		w.mu.Unlock()
		var waits []<-chan struct{}
		for _, c := range all {
			if c.signal(syscall.SIGTERM) {
				waits = append(waits, c.exitedChan())
			}
		}
		for _, g := range execs {
			_ = syscall.Kill(-g, syscall.SIGTERM)
		}
		deadline := time.After(grace)
		for _, ch := range waits {
			select {
			case <-ch:
			case <-deadline:
			}
		}
		for _, c := range all {
			c.signal(syscall.SIGKILL)
		}
		for _, g := range execs {
			_ = syscall.Kill(-g, syscall.SIGKILL)
		}
		for _, ch := range waits {
			select {
			case <-ch:
			case <-time.After(5 * time.Second):
			}
		}
		close(w.stopped)
		w.m.log.Info("pod stopped", "namespace", w.namespace, "pod", w.name)
	})
	<-w.stopped
}

func (w *podWorker) trackExec(pgid int, alive bool) {
	w.mu.Lock()
	if alive {
		w.execs[pgid] = struct{}{}
	} else {
		delete(w.execs, pgid)
	}
	w.mu.Unlock()
	w.m.trackGroup(pgid, alive)
}

// statusLoop publishes the pod's status whenever something changed.
func (w *podWorker) statusLoop(ctx context.Context) {
	for {
		select {
		case <-w.kick:
		case <-w.stopped:
			return
		case <-ctx.Done():
			return
		}
		time.Sleep(50 * time.Millisecond) // coalesce bursts of changes
		select {
		case <-w.kick:
		default:
		}
		if err := w.pushStatus(ctx); err != nil && ctx.Err() == nil {
			w.m.log.Warn("pod status update failed", "pod", w.key, "err", err)
			time.AfterFunc(time.Second, w.kickStatus)
		}
	}
}

func (w *podWorker) pushStatus(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		pod, err := w.m.client.CoreV1().Pods(w.namespace).Get(ctx, w.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && (pod.UID != w.uid || pod.DeletionTimestamp != nil)) {
			return nil
		}
		if err != nil {
			return err
		}
		pod.Status = w.buildStatus(pod)
		_, err = w.m.client.CoreV1().Pods(w.namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
}

func (w *podWorker) buildStatus(pod *corev1.Pod) corev1.PodStatus {
	w.mu.Lock()
	initCs, appCs := w.init, w.containers
	initDone, initFailed := w.initDone, w.initFailed
	w.mu.Unlock()

	st := *pod.Status.DeepCopy()
	ip := "127.0.0.1"
	st.HostIP, st.HostIPs = ip, []corev1.HostIP{{IP: ip}}
	st.PodIP, st.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	st.StartTime = &w.startTime
	st.ObservedGeneration = pod.Generation
	st.InitContainerStatuses = nil
	for _, c := range initCs {
		st.InitContainerStatuses = append(st.InitContainerStatuses, c.status(true))
	}
	st.ContainerStatuses = nil
	var notReady []string
	terminal, failed := len(appCs) > 0, false
	for _, c := range appCs {
		cs := c.status(false)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			notReady = append(notReady, c.spec.Name)
		}
		if cs.State.Terminated == nil || c.willRestart(pod.Spec.RestartPolicy) {
			terminal = false
		} else if cs.State.Terminated.ExitCode != 0 {
			failed = true
		}
	}
	switch {
	case initFailed:
		st.Phase = corev1.PodFailed
	case !initDone || len(appCs) == 0:
		st.Phase = corev1.PodPending
	case terminal && failed:
		st.Phase = corev1.PodFailed
	case terminal:
		st.Phase = corev1.PodSucceeded
	default:
		st.Phase = corev1.PodRunning
	}

	ready := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
	switch {
	case st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed:
		ready.Status, ready.Reason = corev1.ConditionFalse, "PodCompleted"
	case !initDone:
		ready.Status, ready.Reason = corev1.ConditionFalse, "ContainersNotInitialized"
	case len(notReady) > 0:
		ready.Status, ready.Reason = corev1.ConditionFalse, "ContainersNotReady"
		ready.Message = fmt.Sprintf("containers with unready status: [%s]", strings.Join(notReady, " "))
	}
	containersReady := ready
	containersReady.Type = corev1.ContainersReady
	initialized := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if !initDone {
		initialized.Status, initialized.Reason = corev1.ConditionFalse, "ContainersNotInitialized"
	}
	st.Conditions = mergeConditions(st.Conditions, pod.Generation,
		corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue},
		initialized, containersReady, ready,
		corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	)
	return st
}

// mergeConditions sets the given conditions, keeping others and keeping the
// transition time of a condition whose status did not change.
func mergeConditions(old []corev1.PodCondition, generation int64, set ...corev1.PodCondition) []corev1.PodCondition {
	now := metav1.Now()
	out := make([]corev1.PodCondition, 0, len(old)+len(set))
	for _, o := range old {
		replaced := false
		for _, s := range set {
			replaced = replaced || s.Type == o.Type
		}
		if !replaced {
			out = append(out, o)
		}
	}
	for _, s := range set {
		s.LastTransitionTime, s.ObservedGeneration = now, generation
		for _, o := range old {
			if o.Type == s.Type && o.Status == s.Status {
				s.LastTransitionTime = o.LastTransitionTime
			}
		}
		out = append(out, s)
	}
	return out
}

// env is what a container's processes get: a PATH to find local programs, HOME
// and HOSTNAME as in a container, then the pod's env (plain values and field
// references; ConfigMap and Secret references are not resolved).
func (w *podWorker) env(spec corev1.Container, cwd string) []string {
	pod := w.currentPod()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cwd, "HOSTNAME=" + pod.Name}
	if spec.TTY {
		env = append(env, "TERM=xterm")
	}
	vars := envMap(env)
	for _, e := range spec.Env {
		value := expand(e.Value, vars)
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			value = fieldValue(pod, e.ValueFrom.FieldRef.FieldPath)
		}
		vars[e.Name] = value
		env = append(env, e.Name+"="+value)
	}
	return env
}

func fieldValue(pod *corev1.Pod, path string) string {
	switch path {
	case "metadata.name":
		return pod.Name
	case "metadata.namespace":
		return pod.Namespace
	case "metadata.uid":
		return string(pod.UID)
	case "spec.nodeName":
		return pod.Spec.NodeName
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName
	case "status.podIP", "status.hostIP":
		return "127.0.0.1"
	}
	return ""
}

func envMap(env []string) map[string]string {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return vars
}

var varRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expand resolves $(VAR) as Kubernetes does: defined names are replaced,
// undefined ones stay as written, and $$ escapes a dollar.
func expand(s string, vars map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(ref string) string {
		if ref == "$$" {
			return "$"
		}
		if v, ok := vars[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}
