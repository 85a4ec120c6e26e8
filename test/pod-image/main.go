// drover-pod is the whole of the image the provisioned-worker pod test runs under
// the real kubelet and containerd (test/testenv/containerd.ts): the machine has no
// registry, so the image is built locally, FROM scratch with this static binary.
// It is also the pod sandbox's image (containerd's sandbox_image), so with no
// arguments it does what the pause container does: wait until stopped.
//
//	drover-pod                 wait for SIGTERM/SIGINT (the sandbox)
//	drover-pod say WORDS...    print WORDS (the pod's log), then wait
//	drover-pod echo WORDS...   print WORDS and exit (what the test execs)
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 {
		fmt.Println(strings.Join(args[1:], " "))
		if args[0] == "echo" {
			return
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
