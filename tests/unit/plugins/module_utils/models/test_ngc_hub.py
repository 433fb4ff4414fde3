"""NGC errors without secrets; Hub refusals that name hf_token; Hub staging inside the cache, across file systems."""

import errno
import os
import types

import httpx2
import pytest
from huggingface_hub.utils import hf_raise_for_status

from ansible_collections.airlock.airgap.plugins.module_utils.http import transport
from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, hub, ngc, sources
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

SIGNED = "http://127.0.0.1:9/bucket/model.pth?X-Amz-Credential=AKIA&X-Amz-Signature=0123456789abcdef"


class Redirect:  # pylint: disable=too-few-public-methods
    """What NGC answers a download with: a redirect to a presigned URL."""
    status_code = 302
    is_redirect = True
    headers = {"Location": SIGNED}

    def close(self):
        pass


class TokenlessAnswer(Redirect):  # pylint: disable=too-few-public-methods
    """A key exchange answered 200 with JSON that holds no token."""
    status_code = 200
    is_redirect = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def json():
        return {"expires_in": 300}


def test_an_unreachable_presigned_url_is_a_clear_error_without_its_signature(monkeypatch, tmp_path):
    client = ngc.NgcClient(endpoint="http://127.0.0.1:9", retry=transport.RetryPolicy(attempts=1))
    real_request = client.transport.session.request
    monkeypatch.setattr(client.transport, "sleep", lambda seconds: None)
    monkeypatch.setattr(client.transport.session, "request",
                        lambda method, url, **options: Redirect() if "/v2/" in url else real_request(method, url, **options))
    with open(tmp_path / "f", "wb") as handle, pytest.raises(ModelError) as raised:
        client.download("/v2/org/nvidia/models/m/1/files", {"path": "model.pth"}, handle, "ngc://nvidia/m:1 model.pth")
    assert "could not reach the presigned URL for ngc://nvidia/m:1 model.pth" in str(raised.value)
    assert "Signature" not in str(raised.value) and "0123456789abcdef" not in str(raised.value) and "AKIA" not in str(raised.value)


def test_a_key_exchange_without_a_token_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(transport.Transport, "request", lambda *args, **kwargs: TokenlessAnswer())
    with pytest.raises(ModelError, match="answered the key exchange without a token"):
        ngc.NgcClient(api_key="legacy-key")


def test_the_hub_stages_inside_the_cache_and_falls_back_to_a_verified_copy_across_file_systems(monkeypatch, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 8}')
    (folder / "weights.bin").write_bytes(b"w" * 3000)
    commit = "d" * 40
    used = []

    def snapshot_download(repo_id, revision, cache_dir, **kwargs):  # pylint: disable=unused-argument
        used.append(cache_dir)
        hf_cache.import_folder(str(folder), cache_dir, sources.LocalSource(str(folder), repo_id, revision, revision))

    real_replace = os.replace

    def replace(source, target, **folders):
        if os.path.dirname(source) != os.path.dirname(target):  # another file system: rename refuses
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(source, target, **folders)

    monkeypatch.setattr(hub.huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(os, "replace", replace)
    cache = tmp_path / "mount" / "hub"
    listing = {}
    for relative, real in sorted({"config.json": folder / "config.json", "weights.bin": folder / "weights.bin"}.items()):
        size, _sha256, _hasher = snapshots.hash_file(str(real))
        listing[relative] = (hf_cache._git_blob_sha1(str(real), size), size)  # pylint: disable=protected-access
    fetched, moved, skipped = hub.download_verified(types.SimpleNamespace(endpoint=None), sources.HubSource("acme/tiny", commit), commit,
                                                    str(cache), hub.HubSettings(), listing)
    assert os.path.dirname(used[0]) == str(cache) and os.path.basename(used[0]).startswith(hub.STAGE_PREFIX)
    assert moved == 3018 and skipped == 0 and len(fetched.files) == 2
    assert sorted(os.listdir(cache)) == ["models--acme--tiny"], "the private stage is gone"
    for entry in fetched.files:
        snapshots.verify_file(hf_cache.blob_path(str(cache), "acme/tiny", entry.blob), entry, "test")


@pytest.mark.parametrize("status, headers", [(401, {"X-Error-Code": "GatedRepo"}), (401, {"X-Error-Message": "Invalid credentials in Authorization header"}),
                                             (403, {"X-Error-Code": "GatedRepo"}), (403, {})])
def test_a_refusal_names_hf_token_whichever_error_the_client_raises(status, headers):
    request = httpx2.Request("GET", "https://hub.example/api/models/acme/gated/revision/main")
    with pytest.raises(ModelError, match=rf"refused access to acme/gated \(HTTP {status}\): the repository is gated or private.*hf_token \(or HF_TOKEN"):
        with hub.hub_errors_explained(sources.HubSource("acme/gated"), hub.HubSettings("https://hub.example", token="hf_x")):
            hf_raise_for_status(httpx2.Response(status, headers=headers, request=request))


def test_a_missing_repo_is_still_told_apart_from_a_refusal():
    request = httpx2.Request("GET", "https://hub.example/api/models/acme/none/revision/main")
    with pytest.raises(ModelError, match="has no repo acme/none"):
        with hub.hub_errors_explained(sources.HubSource("acme/none"), hub.HubSettings("https://hub.example")):
            hf_raise_for_status(httpx2.Response(404, headers={"X-Error-Code": "RepoNotFound"}, request=request))
