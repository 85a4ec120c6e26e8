package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/creack/pty"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// streamingRuntime is what Kubernetes' streaming server drives once it has set
// up the SPDY (or WebSocket) streams: exec runs a local process in the
// container's directory and environment, attach joins the container's process,
// port-forward dials the port on loopback (all pods share 127.0.0.1).
type streamingRuntime struct{ pods *podManager }

var (
	_ remotecommand.Executor    = (*streamingRuntime)(nil)
	_ remotecommand.Attacher    = (*streamingRuntime)(nil)
	_ portforward.PortForwarder = (*streamingRuntime)(nil)
)

func (r *streamingRuntime) runningContainer(podKey, uid, name string) (*podWorker, *container, error) {
	w, err := r.pods.lookup(podKey, uid)
	if err != nil {
		return nil, nil, err
	}
	c, err := w.container(name)
	if err != nil {
		return nil, nil, err
	}
	if !c.running() {
		return nil, nil, fmt.Errorf("container %q in pod %s is not running", name, podKey)
	}
	return w, c, nil
}

func (r *streamingRuntime) ExecInContainer(_ context.Context, podKey, uid, name string, argv []string, in io.Reader,
	out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	w, c, err := r.runningContainer(podKey, uid, name)
	if err != nil {
		return err
	}
	if len(argv) == 0 {
		return errors.New("exec needs a command")
	}
	cwd := c.workingDir()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = cwd, w.env(c.spec, cwd)
	if tty {
		return r.execTTY(w, cmd, in, out, resize)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if out != nil {
		cmd.Stdout = out
	}
	if errOut != nil {
		cmd.Stderr = errOut
	}
	cmd.WaitDelay = time.Second
	var stdin io.WriteCloser
	if in != nil {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return err
		}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	w.trackExec(cmd.Process.Pid, true)
	defer w.trackExec(cmd.Process.Pid, false)
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, in)
			_ = stdin.Close()
		}()
	}
	return asExitError(cmd.Wait())
}

func (r *streamingRuntime) execTTY(w *podWorker, cmd *exec.Cmd, in io.Reader, out io.Writer,
	resize <-chan remotecommand.TerminalSize) error {
	cmd.Env = append(cmd.Env, "TERM=xterm")
	ptmx, err := pty.StartWithAttrs(cmd, nil, &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL})
	if err != nil {
		return err
	}
	defer ptmx.Close()
	w.trackExec(cmd.Process.Pid, true)
	defer w.trackExec(cmd.Process.Pid, false)
	done := make(chan struct{})
	defer close(done)
	go resizeLoop(ptmx, resize, done)
	if in != nil {
		go func() { _, _ = io.Copy(ptmx, in) }()
	}
	if out == nil {
		out = io.Discard
	}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, ptmx)
		close(copied)
	}()
	err = cmd.Wait()
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	return asExitError(err)
}

func resizeLoop(ptmx *os.File, resize <-chan remotecommand.TerminalSize, done <-chan struct{}) {
	for {
		select {
		case size, ok := <-resize:
			if !ok {
				return
			}
			_ = pty.Setsize(ptmx, &pty.Winsize{Rows: size.Height, Cols: size.Width})
		case <-done:
			return
		}
	}
}

// asExitError reports a non-zero exit the way the streaming server turns into
// kubectl's "command terminated with exit code N".
func asExitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return utilexec.CodeExitError{Err: err, Code: exitCode(err)}
	}
	return err
}

// AttachContainer copies the container's live output to the client and the
// client's input to the container's stdin (when its spec has stdin: true),
// until the process exits or the client goes away.
func (r *streamingRuntime) AttachContainer(ctx context.Context, podKey, uid, name string, in io.Reader,
	out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	_, c, err := r.runningContainer(podKey, uid, name)
	if err != nil {
		return err
	}
	c.mu.Lock()
	exited, stdin, ptmx := c.exited, c.stdin, c.tty
	c.mu.Unlock()
	var stdout, stderr io.Writer
	if out != nil {
		stdout = out
	}
	if errOut != nil {
		stderr = errOut
	}
	id, failed := c.out.subscribe(stdout, stderr)
	defer c.out.unsubscribe(id)
	done := make(chan struct{})
	defer close(done)
	if tty && ptmx != nil {
		go resizeLoop(ptmx, resize, done)
	}
	if in != nil && stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, in)
			// As with a container runtime: the end of the client's input closes
			// the container's stdin only under stdinOnce.
			if c.spec.StdinOnce && ptmx == nil {
				_ = stdin.Close()
			}
		}()
	}
	select {
	case <-exited:
	case <-failed:
	case <-ctx.Done():
	}
	return nil
}

// PortForward connects one forwarded stream to 127.0.0.1:port.
func (r *streamingRuntime) PortForward(_ context.Context, podKey, uid string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	if _, err := r.pods.lookup(podKey, uid); err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return fmt.Errorf("pod %s: could not connect to port %d: %w", podKey, port, err)
	}
	defer conn.Close()
	go func() {
		_, _ = io.Copy(conn, stream)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		}
	}()
	_, err = io.Copy(stream, conn)
	return err
}
