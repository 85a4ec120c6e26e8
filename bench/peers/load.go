package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// A job, one JSON object per stdin line; the answer is one JSON line on stdout.
type job struct {
	URL         string              `json:"url"`
	Headers     map[string][]string `json:"headers"`
	Count       int                 `json:"count"`
	Concurrency int                 `json:"concurrency"`
}

type answer struct {
	DurationsUs []int64 `json:"durationsUs"`
	WallUs      int64   `json:"wallUs"`
	Bytes       int64   `json:"bytes"`
	Error       string  `json:"error,omitempty"`
}

// One HTTP/1.1 keep-alive client per URL, kept across jobs so rounds reuse connections.
var clients = map[string]*http.Client{}

func clientFor(url string) *http.Client {
	if c, ok := clients[url]; ok {
		return c
	}
	t := &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}, //nolint:gosec // bench only
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 64,
		DisableCompression:  true,
	}
	c := &http.Client{Transport: t}
	clients[url] = c
	return c
}

func run(j job) answer {
	c := clientFor(j.URL)
	durations := make([]int64, 0, j.Count)
	var mu sync.Mutex
	var next, bytes int64
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < j.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.AddInt64(&next, 1) <= int64(j.Count) {
				t := time.Now()
				n, err := once(c, j)
				d := time.Since(t).Microseconds()
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				durations = append(durations, d)
				bytes += n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	a := answer{DurationsUs: durations, WallUs: time.Since(start).Microseconds(), Bytes: bytes}
	if firstErr != nil {
		a.Error = firstErr.Error()
	}
	return a
}

func once(c *http.Client, j job) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, j.URL, nil)
	if err != nil {
		return 0, err
	}
	for k, vs := range j.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s answered %d", j.URL, res.StatusCode)
	}
	return n, err
}

func loadMain([]string) error {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var j job
		if err := json.Unmarshal(in.Bytes(), &j); err != nil {
			return fmt.Errorf("reading a job: %w", err)
		}
		if err := out.Encode(run(j)); err != nil {
			return err
		}
	}
	return in.Err()
}
