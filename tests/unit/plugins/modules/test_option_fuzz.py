"""Every option of every module, given what a typo, a template slip or an attacker gives: a clear msg, never a traceback.

Each module runs in this process exactly as AnsibleModule runs it (its arguments patched in, its
JSON read back from stdout), from a scratch folder, with the network closed to everything but
loopback, under an alarm so that nothing can hang the suite.
"""

import contextlib
import importlib
import io
import json
import signal
import socket

import pytest

from ansible.module_utils.testing import patch_module_args

# One run of each module that fails fast and harmlessly (nothing to read, nothing listening, no retry): the base every bad
# value replaces one option of.
BASE_ARGS = {
    "bundle": {"path": "target", "volumes_dir": "volumes", "state": "unpacked"},
    "checksum": {"path": "tree", "state": "verified"},
    "image_copy": {"images": ["oci:layout:app:1"], "destination": "oci:out", "retries": 0},
    "image_preload": {"source": "oci:layout", "images": ["app:1"], "socket": "none.sock", "runtime": "containerd", "retries": 0},
    "chart_mirror": {"charts": [{"path": "chart"}], "dest": "charts", "retries": 0},
    "image_inventory": {"manifests": ["manifests"], "retries": 0},
    "mirror_overrides": {"registry": "127.0.0.1:9", "compose": [{"files": ["compose.yml"], "override": "override.yml"}]},
    "egress_audit": {"paths": ["manifests"], "allowed_registries": ["127.0.0.1:9"]},
    "model_cache": {"models": ["./model"], "path": "cache", "retries": 0},
    "file_mirror": {"files": [{"src": "notes.txt"}], "path": "bundle", "retries": 0},
    "transfer_report": {"path": "bundle", "name": "site", "dest": "report.html"},
    "image_signatures": {"layout": "layout", "policy": [{"match": "*", "keys": []}]},
    "bundle_signature": {"files": ["index.json"], "public_keys": ["k.pub"]},
}
# Scalars of every type, empty, huge, unicode and control characters; lists with elements of every wrong kind.
BAD_VALUES = [
    None, 42, -1, 2 ** 63, 3.5, True, "", "x" * 100_000, "ünïcødé-名前", "ctl\x00\x01\x1b[31m\n\r", "../../../etc/passwd",
    [], {}, [None], [42], [True], [[]], [{}], [""], ["ünï ÇÖDÉ"] * 500, {"unexpected": 1}, {"": None},
]
# Elements of list options whose elements are dicts (or dicts and strings), each on its own.
BAD_ELEMENTS = [None, 42, True, [], {}, "", {"destination": "x"}, {"source": "127.0.0.1:9/app:1", "destination": 7}, {"unexpected": "x"}]
SECONDS_PER_RUN = 20


class _Alarm(Exception):
    pass


def _refuse_outside_loopback(original):
    """getaddrinfo for loopback only: a fuzzed value must never send a query or a packet off this machine."""
    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("localhost", "::1") and not name.startswith("127."):
            raise socket.gaierror(socket.EAI_NONAME, f"test guard: {name} is not loopback")
        return original(host, *args, **kwargs)
    return guarded


def run_in_process(name, args):
    """The module's result dict; an exception escaping the module (a traceback for the user) fails the test."""
    module = importlib.import_module(f"ansible_collections.airlock.airgap.plugins.modules.{name}")
    output = io.StringIO()

    def alarm(*_):
        raise _Alarm(f"{name} ran longer than {SECONDS_PER_RUN} s with {_shown(args)}")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(SECONDS_PER_RUN)
    try:
        with patch_module_args(args), contextlib.redirect_stdout(output), pytest.raises(SystemExit):
            module.main()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return json.loads(output.getvalue())


def _shown(args):
    return json.dumps(args, default=str)[:300]


def _option_names(name):
    module = importlib.import_module(f"ansible_collections.airlock.airgap.plugins.modules.{name}")
    return sorted(module.ARGUMENT_SPEC)


def _dict_element_options(name):
    """(option, suboptions or None) of every list option whose elements may be dicts."""
    module = importlib.import_module(f"ansible_collections.airlock.airgap.plugins.modules.{name}")
    return sorted((option, spec.get("options")) for option, spec in module.ARGUMENT_SPEC.items()
                  if spec.get("type") == "list" and spec.get("elements") in ("dict", "raw"))


def _cases():
    """One case per option (its bad values run in turn inside it): ansible-test runs each module test in a forked
    process, and a fork per value made this file most of the units stage's CPU."""
    for name in sorted(BASE_ARGS):
        for option in _option_names(name):
            yield pytest.param(name, [{option: value} for value in BAD_VALUES], id=f"{name}-{option}")
        for option, suboptions in _dict_element_options(name):
            yield pytest.param(name, [{option: [element]} for element in BAD_ELEMENTS], id=f"{name}-{option}-elements")
            for suboption in sorted(suboptions or {}):
                yield pytest.param(name, [{option: [{suboption: value}]} for value in BAD_VALUES[:12]], id=f"{name}-{option}.{suboption}")


@pytest.fixture
def sealed_scratch(tmp_path, monkeypatch):
    """A scratch working folder (relative paths land there) and no network beyond loopback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse_outside_loopback(socket.getaddrinfo))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name,overrides", list(_cases()))
def test_bad_input_gets_a_clear_message_never_a_traceback(sealed_scratch, name, overrides):  # pylint: disable=redefined-outer-name,unused-argument
    for override in overrides:
        args = dict(BASE_ARGS[name], **override)
        result = run_in_process(name, args)
        if result.get("failed"):
            message = result.get("msg")
            assert isinstance(message, str) and message.strip(), f"{name} failed with no message for {_shown(args)}"
            assert "Traceback" not in message and "exception" not in result, f"{name}: {message[:500]} for {_shown(args)}"
