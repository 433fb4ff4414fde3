"""The spec_defaults filter fills a role's defaults into a value with Ansible's own validator.

Ansible hands filters lazy containers whose items are templated on each read, so the filter copies its input plain
before the validator deep-copies it: a container that refuses to be deep-copied stands in for them here."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.airlock.airgap.plugins.filter.spec_defaults import spec_defaults


class LazyDict(dict):
    def __deepcopy__(self, memo):
        raise AssertionError("deep-copied where a plain copy was due")


class LazyList(list):
    def __deepcopy__(self, memo):
        raise AssertionError("deep-copied where a plain copy was due")


OPTIONS = LazyDict(
    name={"type": "str", "required": True},
    platforms={"type": "list", "elements": "str", "default": LazyList(["linux/amd64"])},
    enclave=LazyDict(type="dict", default={}, options=LazyDict(pin={"type": "bool", "default": True})),
)


def test_defaults_are_filled_from_lazy_containers_without_deep_copying_them():
    filled = spec_defaults(LazyDict(name="demo", enclave=LazyDict()), OPTIONS, "airlock")
    assert filled == {"name": "demo", "platforms": ["linux/amd64"], "enclave": {"pin": True}}
    assert not isinstance(filled["platforms"], LazyList)


def test_a_value_the_spec_refuses_names_the_variable():
    with pytest.raises(AnsibleFilterError, match=r"^airlock: .*name"):
        spec_defaults({"platforms": ["linux/amd64"]}, OPTIONS, "airlock")
