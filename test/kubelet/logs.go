package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Container logs are kept in the CRI log format the real kubelet reads
// ("<RFC3339Nano> <stream> <F|P> <content>"), one file per container start, so
// that timestamps, stream selection, tailLines and since* can be answered.

// logWriter appends one container's output to its log file.
type logWriter struct {
	mu sync.Mutex
	f  *os.File
}

func newLogWriter(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &logWriter{f: f}, nil
}

// write records a chunk of output: every complete line as a full ("F") record,
// and a trailing piece without newline at once as a partial ("P") record, so
// followers see output as soon as it is written.
func (l *logWriter) write(stream string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	var buf bytes.Buffer
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		tag, line := "F", p
		if i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			tag, p = "P", nil
		}
		fmt.Fprintf(&buf, "%s %s %s %s\n", ts, stream, tag, line)
	}
	_, _ = l.f.Write(buf.Bytes())
}

func (l *logWriter) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.f.Close()
}

// streamWriter is the io.Writer a process writes one of its streams to.
type streamWriter struct {
	log    *logWriter
	stream string
	fanout *fanout
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.log.write(w.stream, p)
	w.fanout.write(w.stream, p)
	return len(p), nil
}

type logRecord struct {
	ts      time.Time
	rawTS   string
	stream  string
	partial bool
	content []byte
}

func parseRecord(line []byte) (logRecord, bool) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	parts := bytes.SplitN(line, []byte(" "), 4)
	if len(parts) < 3 {
		return logRecord{}, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(parts[0]))
	if err != nil {
		return logRecord{}, false
	}
	r := logRecord{ts: ts, rawTS: string(parts[0]), stream: string(parts[1]), partial: string(parts[2]) == "P"}
	if len(parts) == 4 {
		r.content = parts[3]
	}
	return r, true
}

// parseLogOptions reads the query kube-apiserver sends for pods/log.
func parseLogOptions(q url.Values) (*corev1.PodLogOptions, error) {
	o := &corev1.PodLogOptions{}
	boolean := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, nil
		}
		return strconv.ParseBool(v)
	}
	integer := func(name string) (*int64, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return &n, err
	}
	var err error
	var errs []error
	o.Follow, err = boolean("follow")
	errs = append(errs, err)
	o.Previous, err = boolean("previous")
	errs = append(errs, err)
	o.Timestamps, err = boolean("timestamps")
	errs = append(errs, err)
	o.TailLines, err = integer("tailLines")
	errs = append(errs, err)
	if q.Get("tail") != "" && q.Get("tail") != "all" {
		o.TailLines, err = integer("tail")
		errs = append(errs, err)
	}
	o.SinceSeconds, err = integer("sinceSeconds")
	errs = append(errs, err)
	o.LimitBytes, err = integer("limitBytes")
	errs = append(errs, err)
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		errs = append(errs, err)
		o.SinceTime = &metav1.Time{Time: t}
	}
	if v := q.Get("stream"); v != "" {
		o.Stream = &v
	}
	return o, errors.Join(errs...)
}

// serveLog writes a log file to w as kubelet does, following it while
// `running` reports that the container instance that writes it still runs.
func serveLog(ctx context.Context, w http.ResponseWriter, path string, o *corev1.PodLogOptions, running func() bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)

	var since time.Time
	if o.SinceSeconds != nil {
		since = time.Now().Add(-time.Duration(*o.SinceSeconds) * time.Second)
	}
	if o.SinceTime != nil && o.SinceTime.After(since) {
		since = o.SinceTime.Time
	}
	if o.TailLines != nil {
		if err := seekTail(f, *o.TailLines); err != nil {
			return err
		}
	}
	remaining := int64(-1)
	if o.LimitBytes != nil {
		remaining = *o.LimitBytes
	}
	emit := func(r logRecord) bool {
		if !since.IsZero() && r.ts.Before(since) {
			return true
		}
		if o.Stream != nil && *o.Stream != string(corev1.LogStreamAll) && *o.Stream != r.stream {
			return true
		}
		var out []byte
		if o.Timestamps {
			out = append(out, r.rawTS...)
			out = append(out, ' ')
		}
		out = append(out, r.content...)
		if !r.partial {
			out = append(out, '\n')
		}
		if remaining >= 0 && int64(len(out)) > remaining {
			out = out[:remaining]
		}
		if _, err := w.Write(out); err != nil {
			return false
		}
		if remaining >= 0 {
			remaining -= int64(len(out))
			if remaining == 0 {
				return false
			}
		}
		return true
	}

	reader := bufio.NewReader(f)
	var pending []byte
	for {
		chunk, err := reader.ReadBytes('\n')
		pending = append(pending, chunk...)
		if err == nil {
			if r, ok := parseRecord(pending); ok && !emit(r) {
				return nil
			}
			pending = pending[:0]
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !o.Follow {
			return nil
		}
		// At the end: stop once the writer has exited and everything is read.
		alive := running()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
		if !alive {
			if more, _ := reader.Peek(1); len(more) == 0 {
				return nil
			}
		}
	}
}

// seekTail positions f at the start of its last n records.
func seekTail(f *os.File, n int64) error {
	var offsets []int64
	var offset int64
	reader := bufio.NewReader(f)
	for {
		line, err := reader.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			offsets = append(offsets, offset)
		}
		offset += int64(len(line))
		if err != nil {
			break
		}
	}
	start := int64(0)
	switch {
	case n == 0:
		start = offset
	case n > 0 && int64(len(offsets)) > n:
		start = offsets[int64(len(offsets))-n]
	}
	_, err := f.Seek(start, io.SeekStart)
	return err
}
