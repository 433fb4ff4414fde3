"""The `testbed` session fixture: real services for every test that asks for them.

A testbed already running (from `testbed up`, for working by hand) is reused and left
running; one started here is stopped when the session ends.
"""

import dataclasses
import os

import pytest

from . import core, state


@dataclasses.dataclass(frozen=True)
class Endpoints:  # pylint: disable=too-many-instance-attributes
    """Where each testbed service is, as tests need it."""

    env: dict
    state_dir: str
    public_registry: str
    private_registry: str
    private_user: str
    private_password: str
    private_ca: str
    containerd_socket: str
    docker_host: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_region: str
    helm: str
    ctr: str
    skopeo: str

    @classmethod
    def from_env(cls, env):
        return cls(
            env=dict(env), state_dir=env["AIRLOCK_TESTBED_DIR"],
            public_registry=env["AIRLOCK_PUBLIC_REGISTRY"],
            private_registry=env["AIRLOCK_PRIVATE_REGISTRY"],
            private_user=env["AIRLOCK_PRIVATE_REGISTRY_USER"],
            private_password=env["AIRLOCK_PRIVATE_REGISTRY_PASSWORD"],
            private_ca=env["AIRLOCK_PRIVATE_REGISTRY_CA"],
            containerd_socket=env["AIRLOCK_CONTAINERD_SOCKET"],
            docker_host=env["AIRLOCK_DOCKER_HOST"],
            s3_endpoint=env["AIRLOCK_S3_ENDPOINT"], s3_access_key=env["AIRLOCK_S3_ACCESS_KEY"],
            s3_secret_key=env["AIRLOCK_S3_SECRET_KEY"], s3_region=env["AIRLOCK_S3_REGION"],
            helm=env["AIRLOCK_HELM"], ctr=env["AIRLOCK_CTR"], skopeo=env["AIRLOCK_SKOPEO"],
        )


@pytest.fixture(scope="session")
def testbed():
    """Start the testbed (or reuse a running one) and hand its endpoints to the test."""
    state_dir = state.default_dir()
    current, reused = core.up(state_dir, log=lambda message: None, wait_seconds=300)
    try:
        yield Endpoints.from_env(core.environment(current))
    finally:
        if not reused:
            core.down(state_dir)


@pytest.fixture(scope="session")
def sealed_enclave():
    """The sealed enclave (testbed.enclave.Sealed): registry, S3, SSH nodes and the egress witness.

    One is started per session (or a running one in $AIRLOCK_ENCLAVE_DIR reused and left running);
    tests that count egress take `since=time.time()` first, as other tests share the witness.
    """
    from . import enclave  # pylint: disable=import-outside-toplevel
    state_dir = enclave.default_dir()
    running = enclave.load(state_dir)
    reused = bool(running) and enclave.is_alive(running)
    current = enclave.up(state_dir, log=lambda message: None)
    try:
        yield enclave.Sealed.from_state(current)
    finally:
        if not reused:
            enclave.down(state_dir)


@pytest.fixture
def testbed_cli():
    """argv prefix of the testbed command, for tests of its own behaviour."""
    return [os.path.join(os.path.dirname(os.path.abspath(__file__)), "testbed")]
