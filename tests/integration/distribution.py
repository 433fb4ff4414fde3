"""Speak the OCI distribution API directly with requests, for smoke tests of the registries."""

import requests

from tiny_image import OCI_MANIFEST, sha256


class Registry:
    def __init__(self, host, scheme="http", auth=None, verify=True):
        self.base = f"{scheme}://{host}/v2"
        self.session = requests.Session()
        self.session.auth = auth
        # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override a
        # session-level verify, which would silently test against the wrong trust store.
        self.verify = verify

    def ping(self):
        return self.session.get(f"{self.base}/", timeout=10, verify=self.verify)

    def push_blob(self, repository, digest, data):
        """Monolithic upload: POST to open a session, PUT the bytes with their digest."""
        opened = self.session.post(f"{self.base}/{repository}/blobs/uploads/", timeout=10, verify=self.verify)
        opened.raise_for_status()
        location = opened.headers["Location"]
        if location.startswith("/"):
            location = self.base[: -len("/v2")] + location
        separator = "&" if "?" in location else "?"
        put = self.session.put(f"{location}{separator}digest={digest}", data=data, timeout=30, verify=self.verify,
                               headers={"Content-Type": "application/octet-stream"})
        put.raise_for_status()
        return put

    def get_blob(self, repository, digest):
        response = self.session.get(f"{self.base}/{repository}/blobs/{digest}", timeout=30, verify=self.verify)
        response.raise_for_status()
        return response.content

    def put_manifest(self, repository, reference, body, media_type):
        response = self.session.put(f"{self.base}/{repository}/manifests/{reference}", data=body,
                                    headers={"Content-Type": media_type}, timeout=10, verify=self.verify)
        response.raise_for_status()
        return response

    def get_manifest(self, repository, reference, media_type):
        response = self.session.get(f"{self.base}/{repository}/manifests/{reference}",
                                    headers={"Accept": media_type}, timeout=10, verify=self.verify)
        response.raise_for_status()
        return response

    def push_image(self, repository, tag, image):
        self.push_blob(repository, image.config_digest, image.config)
        self.push_blob(repository, sha256(image.layer_gzip), image.layer_gzip)
        return self.put_manifest(repository, tag, image.manifest, OCI_MANIFEST)
