# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image references must read exactly as Docker reads them.

Most cases come from distribution/reference's own tests (normalize_test.go, reference_test.go),
so a drift from Docker's rules shows up here rather than as a wrong image across the air gap.
"""

from __future__ import annotations

import dataclasses

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.oci.reference import (
    DEFAULT_REGISTRY,
    DEFAULT_TAG,
    InvalidReference,
    Reference,
    parse,
)

SHA256 = "sha256:" + "f" * 64
SHA256_B = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
SHA384 = "sha384:" + "a" * 96
SHA512 = "sha512:" + "f" * 128
HEX64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"


@pytest.mark.parametrize("text, registry, repository, tag, digest", [
    # Docker Hub: official images get library/, the legacy index host becomes docker.io
    ("redis", "docker.io", "library/redis", "latest", None),
    ("library/redis", "docker.io", "library/redis", "latest", None),
    ("docker.io/redis", "docker.io", "library/redis", "latest", None),
    ("docker.io/library/redis", "docker.io", "library/redis", "latest", None),
    ("index.docker.io/redis", "docker.io", "library/redis", "latest", None),
    ("index.docker.io/library/redis", "docker.io", "library/redis", "latest", None),
    ("index.docker.io/fooo/bar", "docker.io", "fooo/bar", "latest", None),
    ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None),
    ("nats:2.12.6-alpine", "docker.io", "library/nats", "2.12.6-alpine", None),
    ("ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "latest", None),
    ("foo/bar", "docker.io", "foo/bar", "latest", None),
    ("docker/migrator", "docker.io", "docker/migrator", "latest", None),
    ("other/library", "docker.io", "other/library", "latest", None),
    ("store/foo/bar", "docker.io", "store/foo/bar", "latest", None),
    ("docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", None),
    ("test_com/foo", "docker.io", "test_com/foo", "latest", None),
    ("dock__er/docker", "docker.io", "dock__er/docker", "latest", None),
    ("docker---rules/docker", "docker.io", "docker---rules/docker", "latest", None),
    ("d/docker", "docker.io", "d/docker", "latest", None),
    ("jess/t", "docker.io", "jess/t", "latest", None),
    ("dbcc1", "docker.io", "library/dbcc1", "latest", None),
    (HEX64[:63], "docker.io", "library/" + HEX64[:63], "latest", None),
    ("docker.io/" + HEX64, "docker.io", "library/" + HEX64, "latest", None),
    ("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
     "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest", None),
    ("lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", None),
    # only index.docker.io is rewritten; Docker Hub's real endpoint is just another host
    ("registry-1.docker.io/redis", "registry-1.docker.io", "redis", "latest", None),
    # without a '/', host-looking names are Docker Hub images and ':N' is a tag, not a port
    ("test.com:5000", "docker.io", "library/test.com", "5000", None),
    ("localhost:5000", "docker.io", "library/localhost", "5000", None),
    ("192.168.1.1", "docker.io", "library/192.168.1.1", "latest", None),
    ("192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag", None),
    ("foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", None),
    ("foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", None),
    # a first component with '.', ':' or equal to localhost is a registry
    ("localhost/foo", "localhost", "foo", "latest", None),
    ("localhost:5000/foo/bar:tag", "localhost:5000", "foo/bar", "tag", None),
    ("127.0.0.1:5000/x", "127.0.0.1:5000", "x", "latest", None),
    ("127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", "latest", None),
    ("192.168.0.1:8/debian", "192.168.0.1:8", "debian", "latest", None),
    ("192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", None),
    ("test:5000/repo", "test:5000", "repo", "latest", None),
    ("test-com:8080/foo", "test-com:8080", "foo", "latest", None),
    ("test.com/repo:tag", "test.com", "repo", "tag", None),
    ("example.com:8000/private/moonbase", "example.com:8000", "private/moonbase", "latest", None),
    ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "latest", None),
    ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", None),
    ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", None),
    ("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com", None),
    ("ghcr.io/org/app", "ghcr.io", "org/app", "latest", None),
    ("ghcr.io/app", "ghcr.io", "app", "latest", None),
    # IPv6 hosts in brackets, with or without a port
    ("[::1]:5000/x:y", "[::1]:5000", "x", "y", None),
    ("[::1]:5000/repo", "[::1]:5000", "repo", "latest", None),
    ("[2001:db8::1]/repo", "[2001:db8::1]", "repo", "latest", None),
    ("[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", "latest", None),
    ("[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", None),
    ("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", "latest", None),
    # uppercase namespaces are not allowed, so Docker reads an uppercase first component as a host
    ("Foo/bar", "Foo", "bar", "latest", None),
    ("FOO/bar", "FOO", "bar", "latest", None),
    ("Docker/docker", "Docker", "docker", "latest", None),
    # digests: no default tag when one is given; a tag given with it is kept
    ("redis@" + SHA256_B, "docker.io", "library/redis", None, SHA256_B),
    ("dmcgowan/myapp@" + SHA256_B, "docker.io", "dmcgowan/myapp", None, SHA256_B),
    ("busybox:latest@" + SHA256, "docker.io", "library/busybox", "latest", SHA256),
    ("ghcr.io/org/app:v1@" + SHA256, "ghcr.io", "org/app", "v1", SHA256),
    ("test:5000/repo@" + SHA256, "test:5000", "repo", None, SHA256),
    ("test:5000/repo:tag@" + SHA256, "test:5000", "repo", "tag", SHA256),
    ("[2001:db8::1]:5000/repo:tag@" + SHA256, "[2001:db8::1]:5000", "repo", "tag", SHA256),
    ("xn--7o8h.com/myimage:xn--7o8h.com@" + SHA512, "xn--7o8h.com", "myimage", "xn--7o8h.com", SHA512),
    ("quay.io/a/b@" + SHA384, "quay.io", "a/b", None, SHA384),
    # the limits themselves are allowed
    ("a/" * 127 + "a:tag-puts-this-over-max", "docker.io", "a/" * 127 + "a", "tag-puts-this-over-max", None),
    ("redis:" + "t" * 128, "docker.io", "library/redis", "t" * 128, None),
    ("redis:_under.score-dash", "docker.io", "library/redis", "_under.score-dash", None),
])
def test_parse_normalises_like_docker(text, registry, repository, tag, digest):
    assert parse(text) == Reference(registry, repository, tag, digest)


@pytest.mark.parametrize("text, expected", [
    ("redis", "docker.io/library/redis:latest"),
    ("docker.io/library/redis:latest", "docker.io/library/redis:latest"),
    ("dmcgowan/myapp", "docker.io/dmcgowan/myapp:latest"),
    ("redis@" + SHA256_B, "docker.io/library/redis@" + SHA256_B),
    ("busybox:latest@" + SHA256, "docker.io/library/busybox:latest@" + SHA256),
    ("ghcr.io/org/app:v1@" + SHA256, "ghcr.io/org/app:v1@" + SHA256),
    ("localhost:5000/foo/bar:tag", "localhost:5000/foo/bar:tag"),
    ("[::1]:5000/x:y", "[::1]:5000/x:y"),
])
def test_str_is_the_fully_normalised_form(text, expected):
    assert str(parse(text)) == expected


@pytest.mark.parametrize("text, name", [
    ("redis", "docker.io/library/redis"),
    ("ghcr.io/org/app:v1@" + SHA256, "ghcr.io/org/app"),
    ("localhost:5000/foo", "localhost:5000/foo"),
])
def test_name_is_registry_and_repository(text, name):
    assert parse(text).name == name


@pytest.mark.parametrize("text, familiar", [
    ("redis", "redis:latest"),
    ("docker.io/library/redis:7", "redis:7"),
    ("index.docker.io/library/ubuntu-12.04-base", "ubuntu-12.04-base:latest"),
    ("org/app:v1", "org/app:v1"),
    ("docker.io/fooo/bar", "fooo/bar:latest"),
    ("docker.io/other/library", "other/library:latest"),
    ("docker.io/library/foo/bar", "library/foo/bar:latest"),
    ("busybox:latest@" + SHA256, "busybox:latest@" + SHA256),
    ("redis@" + SHA256_B, "redis@" + SHA256_B),
    ("ghcr.io/org/app:v1", "ghcr.io/org/app:v1"),
    ("ghcr.io/library/app", "ghcr.io/library/app:latest"),
    ("localhost:5000/foo", "localhost:5000/foo:latest"),
    ("127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase:latest"),
    ("registry-1.docker.io/redis", "registry-1.docker.io/redis:latest"),
])
def test_familiar_is_dockers_short_form(text, familiar):
    assert parse(text).familiar == familiar


@pytest.mark.parametrize("text", [
    "redis", "org/app:v1", "docker.io/library/foo/bar", "ghcr.io/org/app:v1@" + SHA256, "redis@" + SHA256,
    "localhost:5000/foo", "[::1]:5000/x:y", "Foo/bar", "test.com:5000", "registry-1.docker.io/redis",
])
def test_str_and_familiar_parse_back_to_the_same_reference(text):
    reference = parse(text)
    assert parse(str(reference)) == reference
    assert parse(reference.familiar) == reference


@pytest.mark.parametrize("text, reason", [
    ("", "repository name must have at least one component"),
    ("localhost/", "repository name must have at least one component"),
    ("localhost/:tag", "repository name must have at least one component"),
    ("docker.io/", "repository name must have at least one component"),
    (":justtag", "repository name must have at least one component"),
    ("@" + SHA256, "repository name must have at least one component"),
    (HEX64, "cannot specify 64-byte hexadecimal strings"),
    ("Foo", "repository name must be lowercase"),
    ("foo/Bar", "repository name must be lowercase"),
    ("docker/Docker", "repository name must be lowercase"),
    ("docker.io/docker/Docker", "repository name must be lowercase"),
    ("Uppercase:tag", "repository name must be lowercase"),
    ("test:5000/Uppercase/lowercase:tag", "repository name must be lowercase"),
    ("ghcr.io/Org/app", "repository name must be lowercase"),
    ("a/" * 128 + "a:tag", "repository name must not be more than 255 characters"),
    ("redis:-foo", "tag '-foo' must start with a letter, digit or '_'"),
    ("redis:.foo", "tag '.foo' must start"),
    ("redis:a+b", "tag 'a+b' must start with a letter, digit or '_' and hold only letters, digits, '_', '.' and '-'"),
    ("redis:" + "t" * 129, "tag must not be more than 128 characters (it has 129)"),
    ("redis@", "digest '' must be <algorithm>:<hex>"),
    ("redis@sha256:abc", "digest 'sha256:abc' must be <algorithm>:<hex>"),
    ("redis@" + HEX64, "must be <algorithm>:<hex>"),
    ("a@b@" + SHA256, "digest 'b@" + SHA256 + "' must be <algorithm>:<hex>"),
    ("repo@sha256:" + "f" * 34, "must have exactly 64 lowercase hex digits after 'sha256:'"),
    ("repo@sha256:" + "f" * 65, "must have exactly 64 lowercase hex digits after 'sha256:'"),
    ("repo@sha256:" + "F" * 64, "must have exactly 64 lowercase hex digits after 'sha256:'"),
    ("repo@sha512:" + "f" * 64, "must have exactly 128 lowercase hex digits after 'sha512:'"),
    ("validname@invaliddigest:" + "f" * 64, "unsupported digest algorithm 'invaliddigest' (supported: sha256, sha384, sha512)"),
    ("redis@md5:" + "f" * 32, "unsupported digest algorithm 'md5'"),
    ("redis@SHA256:" + "f" * 64, "unsupported digest algorithm 'SHA256'"),
    ("aa/asdf$$^/aa", "path component 'asdf$$^' has invalid characters '$^'"),
    ("ghcr.io/org/my app", "path component 'my app' has invalid characters ' '"),
    (" redis", "has invalid characters ' '"),
    ("redis\n", "has invalid characters '\\n'"),
    ("r\u00e9dis", "has invalid characters '\u00e9'"),
    ("-docker", "path component '-docker' must start and end with a letter or digit"),
    ("-docker/docker", "path component '-docker' must start and end"),
    ("docker-/docker", "path component 'docker-' must start and end"),
    ("-docker-/docker", "path component '-docker-' must start and end"),
    ("____/____", "path component '____' must start and end"),
    ("_docker/_docker", "path component '_docker' must start and end"),
    ("foo/dock..er", "path component 'dock..er' must start and end"),
    ("foo/dock_.er", "path component 'dock_.er' must start and end"),
    ("foo/dock-.er", "path component 'dock-.er' must start and end"),
    # a first component with a '.' is read as a host, so there the host grammar speaks
    ("dock..er/docker", "registry 'dock..er' is not a valid host[:port]"),
    ("dock_.er/docker", "registry 'dock_.er' is not a valid host[:port]"),
    ("dock-.er/docker", "registry 'dock-.er' is not a valid host[:port]"),
    ("dock___er/docker", "path component 'dock___er' must start and end"),
    ("docker/", "repository path must not have empty components"),
    ("/docker", "repository path must not have empty components"),
    ("docker///docker", "repository path must not have empty components"),
    ("docker.io/docker///docker", "repository path must not have empty components"),
    ("ghcr.io//org/app", "repository path must not have empty components"),
    ("ghcr.io/org/app/", "repository path must not have empty components"),
    ("https://github.com/docker/docker", "registry 'https:' is not a valid host[:port]"),
    ("-docker.io/docker/docker", "registry '-docker.io' is not a valid host[:port]"),
    ("fc00::1:5000/debian", "registry 'fc00::1:5000' is not a valid host[:port]"),
    ("[fe80::1%eth0]:5000/debian", "registry '[fe80::1%eth0]:5000' is not a valid host[:port]"),
    ("[fe80::1%@invalidzone]:5000/repo", "is not a valid host[:port]"),
    ("[2001:db8:3:4::192.0.2.33]:5000/debian", "registry '[2001:db8:3:4::192.0.2.33]:5000' is not a valid host[:port]"),
    ("host:port/repo", "registry 'host:port' is not a valid host[:port]"),
    ("redis:foo/bar", "registry 'redis:foo' is not a valid host[:port]"),
    ("foo_bar.com/x", "registry 'foo_bar.com' is not a valid host[:port]"),
    ("FOO_BAR/x", "registry 'FOO_BAR' is not a valid host[:port]"),
    ("[fc00::1]", "tag '1]' must start"),
    ("[fc00::1]:5000", "path component '[fc00::1]' has invalid characters ':[]'"),
    ("[2001:db8::1]:tag", "path component '[2001:db8::1]' has invalid characters"),
])
def test_invalid_reference_is_refused_with_its_reason(text, reason):
    with pytest.raises(InvalidReference) as caught:
        parse(text)
    assert str(caught.value).startswith(f"invalid image reference {text!r}: ")
    assert reason in str(caught.value)


@pytest.mark.parametrize("text", ["repo:", "redis:", "host:5000/repo:", "localhost:5000/org/app:", "ghcr.io/org/app:",
                                  "repo:@" + SHA256, "host:5000/repo:@" + SHA256])
def test_an_empty_tag_is_refused_as_missing_never_read_as_latest(text):
    with pytest.raises(InvalidReference) as caught:
        parse(text)
    assert str(caught.value).startswith(f"invalid image reference {text!r}: the tag is missing after ':'")


def test_invalid_reference_is_a_value_error_not_the_builtin_reference_error():
    assert issubclass(InvalidReference, ValueError)
    assert not issubclass(InvalidReference, ReferenceError)


def test_constants_are_dockers_defaults():
    assert (DEFAULT_REGISTRY, DEFAULT_TAG) == ("docker.io", "latest")


@pytest.mark.parametrize("text, default_tag, tag", [
    ("redis", "stable", "stable"),
    ("redis:7", "stable", "7"),
    ("redis@" + SHA256, "stable", None),
    ("redis", None, None),
])
def test_default_tag_applies_only_without_tag_and_digest(text, default_tag, tag):
    assert parse(text, default_tag=default_tag).tag == tag


def test_bare_reference_has_no_tag_in_its_string():
    assert str(parse("redis", default_tag=None)) == "docker.io/library/redis"


def test_invalid_default_tag_is_refused():
    with pytest.raises(InvalidReference, match="tag 'not ok' must start"):
        parse("redis", default_tag="not ok")


@pytest.mark.parametrize("text, registry, prefix, expected", [
    ("docker.io/library/redis", "mirror.enclave:5000", "mirror", "mirror.enclave:5000/mirror/library/redis:latest"),
    ("redis:7", "mirror.enclave:5000", None, "mirror.enclave:5000/library/redis:7"),
    ("redis:7", "mirror.enclave:5000", "", "mirror.enclave:5000/library/redis:7"),
    ("nats:2.12.6-alpine", "mirror:5000", "mirror", "mirror:5000/mirror/library/nats:2.12.6-alpine"),
    ("ghcr.io/org/app:v1@" + SHA256, "registry.enclave", "a/b", "registry.enclave/a/b/org/app:v1@" + SHA256),
    ("ghcr.io/org/app@" + SHA256, "localhost:5000", None, "localhost:5000/org/app@" + SHA256),
    ("ghcr.io/org/app:v1", "[::1]:5000", "m", "[::1]:5000/m/org/app:v1"),
    ("ghcr.io/org/app:v1", "localhost", None, "localhost/org/app:v1"),
    ("ghcr.io/app:v1", "docker.io", None, "docker.io/library/app:v1"),
    ("ghcr.io/org/app:v1", "index.docker.io", "mirror", "docker.io/mirror/org/app:v1"),
    ("ghcr.io/org/app:v1", "Mirror", None, "Mirror/org/app:v1"),
])
def test_with_registry_moves_the_image_under_an_optional_prefix(text, registry, prefix, expected):
    assert str(parse(text).with_registry(registry, prefix)) == expected


def test_with_registry_keeps_a_bare_reference_bare():
    moved = parse("ghcr.io/org/app", default_tag=None).with_registry("mirror:5000", "m")
    assert moved == Reference("mirror:5000", "m/org/app", None, None)


def test_with_registry_leaves_the_original_alone():
    original = parse("redis:7")
    original.with_registry("mirror:5000", "m")
    assert str(original) == "docker.io/library/redis:7"


@pytest.mark.parametrize("registry, prefix, reason", [
    ("mirror", None, "registry 'mirror' would be read as a Docker Hub namespace"),
    ("bad_host:5000", None, "registry 'bad_host:5000' is not a valid host[:port]"),
    ("mirror:5000/m", None, "registry 'mirror:5000/m' is not a valid host[:port]"),
    ("", None, "registry '' is not a valid host[:port]"),
    ("https://mirror:5000", None, "is not a valid host[:port]"),
    ("mirror:5000", "Mirror", "repository name must be lowercase"),
    ("mirror:5000", "/mirror", "repository path must not have empty components"),
    ("mirror:5000", "mirror/", "repository path must not have empty components"),
    ("mirror:5000", "mir ror", "has invalid characters ' '"),
    ("mirror:5000", "p" * 250, "repository name must not be more than 255 characters"),
])
def test_with_registry_refuses_what_would_not_parse_back(registry, prefix, reason):
    with pytest.raises(InvalidReference, match="invalid image reference") as caught:
        parse("redis:7").with_registry(registry, prefix)
    assert reason in str(caught.value)


@pytest.mark.parametrize("text, expected", [
    ("redis:7", "docker.io/library/redis:7@" + SHA256),
    ("redis@" + SHA256_B, "docker.io/library/redis@" + SHA256),
    ("ghcr.io/org/app:v1@" + SHA256_B, "ghcr.io/org/app:v1@" + SHA256),
])
def test_with_digest_pins_and_keeps_the_tag(text, expected):
    assert str(parse(text).with_digest(SHA256)) == expected


@pytest.mark.parametrize("digest, reason", [
    ("sha256:abc", "must be <algorithm>:<hex>"),
    ("", "must be <algorithm>:<hex>"),
    ("md5:" + "f" * 32, "unsupported digest algorithm 'md5'"),
    ("sha256:" + "F" * 64, "must have exactly 64 lowercase hex digits"),
])
def test_with_digest_refuses_an_invalid_digest(digest, reason):
    with pytest.raises(InvalidReference, match="invalid image reference 'docker.io/library/redis@") as caught:
        parse("redis").with_digest(digest)
    assert reason in str(caught.value)


@pytest.mark.parametrize("text, expected", [
    ("redis", "docker.io/library/redis:7"),
    ("redis@" + SHA256, "docker.io/library/redis:7@" + SHA256),
    ("ghcr.io/org/app:v1", "ghcr.io/org/app:7"),
])
def test_with_tag_retags_and_keeps_the_digest(text, expected):
    assert str(parse(text).with_tag("7")) == expected


@pytest.mark.parametrize("tag, reason", [
    ("", "the tag is missing after ':'"),
    ("-x", "tag '-x' must start"),
    ("a/b", "tag 'a/b' must start"),
    ("t" * 129, "tag must not be more than 128 characters"),
])
def test_with_tag_refuses_an_invalid_tag(tag, reason):
    with pytest.raises(InvalidReference, match="invalid image reference 'docker.io/library/redis:") as caught:
        parse("redis").with_tag(tag)
    assert reason in str(caught.value)


def test_reference_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse("redis").tag = "7"


@pytest.mark.parametrize("text, pin", [
    ("redis", "latest"),
    ("redis:7", "7"),
    ("redis@" + SHA256, SHA256),
    ("ghcr.io/org/app:v1@" + SHA256, SHA256),
])
def test_pin_prefers_the_digest_over_the_tag(text, pin):
    assert parse(text).pin == pin


def test_pin_of_a_bare_reference_is_refused():
    with pytest.raises(InvalidReference, match="names neither a tag nor a digest"):
        parse("redis", default_tag=None).pin  # pylint: disable=expression-not-assigned
