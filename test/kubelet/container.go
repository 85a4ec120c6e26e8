package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type containerPhase int

const (
	phaseWaiting containerPhase = iota
	phaseRunning
	phaseTerminated
)

// container is one container of a pod, run as a local process (image ignored).
// Each start is an "attempt" with its own log file; restartCount counts them.
type container struct {
	spec   corev1.Container
	pod    *podWorker
	dir    string // default working directory
	logDir string
	out    *fanout // live output for attach

	mu            sync.Mutex
	phase         containerPhase
	waitingReason string
	waitingMsg    string
	id            string
	attempt       int32
	started       bool // at least one attempt ran
	startedAt     time.Time
	finishedAt    time.Time
	exitCode      int32
	lastTerm      *corev1.ContainerStateTerminated
	pgid          int
	exited        chan struct{} // closed when the current attempt's process has exited
	stdin         io.WriteCloser
	tty           *os.File
}

func newContainer(w *podWorker, spec corev1.Container, kind string) (*container, error) {
	c := &container{
		spec:          spec,
		pod:           w,
		dir:           filepath.Join(w.dir, kind, spec.Name),
		logDir:        filepath.Join(w.dir, "logs", spec.Name),
		out:           newFanout(),
		waitingReason: "ContainerCreating",
	}
	for _, d := range []string{c.dir, c.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *container) logPath(attempt int32) string {
	return filepath.Join(c.logDir, strconv.Itoa(int(attempt))+".log")
}

// workingDir is the container's workingDir when that exists on this machine,
// else a directory of its own under the node's work dir.
func (c *container) workingDir() string {
	if c.spec.WorkingDir != "" {
		if st, err := os.Stat(c.spec.WorkingDir); err == nil && st.IsDir() {
			return c.spec.WorkingDir
		}
	}
	return c.dir
}

// argv is command+args with $(VAR) references expanded. Without a command the
// image's entrypoint is unknown: args run as the command, and with neither a
// placeholder sleeps until killed.
func (c *container) argv(env []string) []string {
	argv := append(append([]string{}, c.spec.Command...), c.spec.Args...)
	if len(argv) == 0 {
		return []string{"sleep", "infinity"}
	}
	vars := envMap(env)
	for i := range argv {
		argv[i] = expand(argv[i], vars)
	}
	return argv
}

func (c *container) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.phase == phaseRunning
}

// start launches the next attempt. The process leads its own process group, so
// that a stop reaches the children it spawned.
func (c *container) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	attempt := c.attempt
	if c.started {
		attempt++
	}
	cwd := c.workingDir()
	env := c.pod.env(c.spec, cwd)
	argv := c.argv(env)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = cwd, env
	logw, err := newLogWriter(c.logPath(attempt))
	if err != nil {
		return err
	}
	var ptmx *os.File
	var stdin io.WriteCloser
	var copied chan struct{}
	if c.spec.TTY {
		ptmx, err = pty.StartWithAttrs(cmd, nil, &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL})
		if err == nil {
			stdin = ptmx
			copied = make(chan struct{})
			go func() {
				_, _ = io.Copy(&streamWriter{log: logw, stream: "stdout", fanout: c.out}, ptmx)
				close(copied)
			}()
		}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		cmd.Stdout = &streamWriter{log: logw, stream: "stdout", fanout: c.out}
		cmd.Stderr = &streamWriter{log: logw, stream: "stderr", fanout: c.out}
		// Output held open by a background child must not keep Wait from returning.
		cmd.WaitDelay = time.Second
		if c.spec.Stdin {
			stdin, err = cmd.StdinPipe()
		}
		if err == nil {
			err = cmd.Start()
		}
	}
	if err != nil {
		logw.write("stderr", []byte(fmt.Sprintf("drover-test-kubelet: could not start %q: %v\n", argv[0], err)))
		logw.close()
		c.phase, c.waitingReason, c.waitingMsg = phaseWaiting, "RunContainerError", err.Error()
		return err
	}

	if c.started && c.phase == phaseTerminated {
		c.lastTerm = c.terminatedState()
	}
	c.attempt, c.started = attempt, true
	c.phase, c.waitingReason, c.waitingMsg = phaseRunning, "", ""
	c.id = randomID()
	c.startedAt = time.Now()
	c.pgid = cmd.Process.Pid
	c.stdin, c.tty = stdin, ptmx
	exited := make(chan struct{})
	c.exited = exited
	c.pod.m.trackGroup(c.pgid, true)

	go func() {
		err := cmd.Wait()
		if copied != nil {
			select {
			case <-copied:
			case <-time.After(2 * time.Second):
			}
			_ = ptmx.Close()
		}
		logw.close()
		c.pod.m.trackGroup(cmd.Process.Pid, false)
		c.mu.Lock()
		c.phase, c.finishedAt, c.exitCode = phaseTerminated, time.Now(), int32(exitCode(err))
		c.stdin, c.tty = nil, nil
		c.mu.Unlock()
		close(exited)
		c.pod.kickStatus()
	}()
	return nil
}

// exitCode turns a Wait error into a container exit code (128+signal when killed).
func exitCode(err error) int {
	var ee *exec.ExitError
	if err == nil || !errors.As(err, &ee) {
		if err != nil {
			return 128
		}
		return 0
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// signal sends sig to the current attempt's process group; false when none runs.
func (c *container) signal(sig syscall.Signal) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.phase != phaseRunning || c.pgid == 0 {
		return false
	}
	_ = syscall.Kill(-c.pgid, sig)
	return true
}

func (c *container) exitedChan() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.phase != phaseRunning {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	return c.exited
}

// setWaiting records why the container is not running (crash-loop backoff).
func (c *container) setWaiting(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.phase == phaseTerminated {
		c.lastTerm = c.terminatedState()
	}
	c.phase, c.waitingReason = phaseWaiting, reason
}

// willRestart applies the pod's restartPolicy to the last exit.
func (c *container) willRestart(policy corev1.RestartPolicy) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return c.exitCode != 0
	default:
		return true
	}
}

func (c *container) terminatedState() *corev1.ContainerStateTerminated {
	reason := "Completed"
	if c.exitCode != 0 {
		reason = "Error"
	}
	return &corev1.ContainerStateTerminated{
		ExitCode: c.exitCode, Reason: reason, ContainerID: containerID(c.id),
		StartedAt: metav1.NewTime(c.startedAt), FinishedAt: metav1.NewTime(c.finishedAt),
	}
}

func (c *container) status(init bool) corev1.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := corev1.ContainerStatus{
		Name: c.spec.Name, Image: c.spec.Image, ImageID: "drover-test://" + c.spec.Image,
		RestartCount: max(c.attempt, 0), Started: new(bool),
	}
	if c.started {
		st.ContainerID = containerID(c.id)
	}
	switch c.phase {
	case phaseRunning:
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.startedAt)}
		st.Ready, *st.Started = !init, true
	case phaseTerminated:
		st.State.Terminated = c.terminatedState()
		st.Ready = init && c.exitCode == 0
	default:
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: c.waitingReason, Message: c.waitingMsg}
	}
	if c.lastTerm != nil {
		st.LastTerminationState.Terminated = c.lastTerm
	}
	return st
}

func containerID(id string) string { return "drover-test://" + id }

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fanout copies a container's live output to attached clients.
type fanout struct {
	mu   sync.Mutex
	next int
	subs map[int]*subscriber
}

type subscriber struct {
	stdout, stderr io.Writer
	failed         chan struct{}
}

func newFanout() *fanout { return &fanout{subs: map[int]*subscriber{}} }

// subscribe adds a client; failed closes when writing to it fails.
func (f *fanout) subscribe(stdout, stderr io.Writer) (int, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	s := &subscriber{stdout: stdout, stderr: stderr, failed: make(chan struct{})}
	f.subs[f.next] = s
	return f.next, s.failed
}

func (f *fanout) unsubscribe(id int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, id)
}

func (f *fanout) write(stream string, p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, s := range f.subs {
		w := s.stdout
		if stream == "stderr" && s.stderr != nil {
			w = s.stderr
		}
		if w == nil {
			continue
		}
		if _, err := w.Write(p); err != nil {
			close(s.failed)
			delete(f.subs, id)
		}
	}
}
