"""Digests: strict parsing and verification while bytes stream."""

import hashlib

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest

DATA = b"air gap" * 1000
GOOD = "sha256:" + hashlib.sha256(DATA).hexdigest()


@pytest.mark.parametrize("text", ["sha256:abc", "md5:" + "0" * 32, "sha256:" + "A" * 64, "", None, "sha256" + "0" * 64])
def test_parse_refuses_malformed_digests(text):
    with pytest.raises(ValueError, match="not a valid content digest"):
        digest.parse(text)


def test_parse_splits_algorithm_and_hex():
    assert digest.parse(GOOD) == ("sha256", GOOD.split(":")[1])


def test_verifier_accepts_the_right_bytes_in_any_chunking():
    verifier = digest.Verifier(GOOD, len(DATA))
    for start in range(0, len(DATA), 999):
        verifier.update(DATA[start:start + 999])
    verifier.check()
    assert verifier.count == len(DATA)


def test_verifier_names_both_digests_on_mismatch():
    verifier = digest.Verifier(GOOD, len(DATA), what="blob X")
    verifier.update(DATA[:-1] + b"!")
    with pytest.raises(digest.DigestMismatch, match="blob X: content digest is sha256:[0-9a-f]{64}, expected " + GOOD):
        verifier.check()


def test_verifier_refuses_more_bytes_than_declared_at_once():
    verifier = digest.Verifier(GOOD, 10)
    with pytest.raises(digest.DigestMismatch, match="more than the 10 bytes"):
        verifier.update(DATA)


def test_verifier_refuses_a_short_body():
    verifier = digest.Verifier(GOOD, len(DATA))
    verifier.update(DATA[:100])
    with pytest.raises(digest.DigestMismatch, match="100 bytes"):
        verifier.check()


def test_of_file_matches_of_bytes(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(DATA)
    assert digest.of_file(str(path)) == digest.of_bytes(DATA) == GOOD
