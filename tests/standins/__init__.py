"""Runnable stand-ins for what vendors ship, and the runners that start them in the sealed enclave.

images: small runnable images from Debian's busybox-static, under vendors' image names.
kubelet: the rendered Kubernetes manifests of a release through `podman kube play` on a node.
compose: a Compose project through Debian's docker-compose against a node's dockerd.
"""
