// The program in the image the provisioned-worker pod test runs (test/testenv/containerd.ts).
module github.com/drover-dev/drover/test/pod-image

go 1.26.0
