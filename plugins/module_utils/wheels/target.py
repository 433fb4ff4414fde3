# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enclave's Python and platform, and whether a wheel can install there.

pip download for another platform is told the target (--platform, --python-version,
--implementation, --abi), and each wheel it returns is checked again here against the tags
that target accepts, so a wheel built for the machine running the download is refused rather
than carried to a machine it cannot run on.
"""

from __future__ import annotations

import dataclasses
import re

import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

try:
    from packaging import tags
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_sdist_filename, parse_wheel_filename
    PACKAGING_IMPORT_ERROR = None
except ImportError:
    tags = canonicalize_name = parse_sdist_filename = parse_wheel_filename = None
    InvalidWheelFilename = ValueError
    PACKAGING_IMPORT_ERROR = traceback.format_exc()

MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
PLATFORM_TAG = re.compile(r"^[a-z0-9_]+$")
PYTHON_VERSION = re.compile(r"^3\.\d{1,2}$")


# The options of every module that downloads distributions for the enclave (wheel_mirror, toolchain): the target, and
# the connected side's cache of resolutions for it. Documented once, in doc_fragments/wheel_target.py.
ARGUMENT_SPEC = dict(
    platform=dict(type="list", elements="str", required=True),
    python_version=dict(type="str", default="3.11"),
    implementation=dict(type="str", choices=["cp", "pp", "py"], default="cp"),
    abi=dict(type="list", elements="str", default=[]),
    cache_dir=dict(type="path", default="~/.cache/airlock/wheels"),
    refresh=dict(type="bool", default=False),
)


class TargetError(AirlockError, ValueError):
    """A target that cannot be, or a wheel that does not fit it."""


@dataclasses.dataclass(frozen=True)
class Target:
    platforms: tuple
    python_version: str = "3.11"
    implementation: str = "cp"
    abis: tuple = ()

    def __post_init__(self):
        if not self.platforms or not all(isinstance(p, str) and PLATFORM_TAG.match(p) for p in self.platforms):
            raise TargetError(f"platform {list(self.platforms)!r}: give wheel platform tags such as manylinux2014_x86_64, "
                              "manylinux_2_28_aarch64, musllinux_1_2_x86_64 or win_amd64")
        if not PYTHON_VERSION.match(str(self.python_version)):
            raise TargetError(f"python version {self.python_version!r}: give MAJOR.MINOR, such as 3.11")
        if self.implementation not in ("cp", "pp", "py"):
            raise TargetError(f"implementation {self.implementation!r}: give cp, pp or py")

    @classmethod
    def from_params(cls, params):
        """The target a module's options (ARGUMENT_SPEC) name."""
        return cls(tuple(params["platform"]), params["python_version"], params["implementation"], tuple(params["abi"]))

    @property
    def nodot(self):
        return self.python_version.replace(".", "")

    @property
    def effective_abis(self):
        return tuple(self.abis) or (f"{self.implementation}{self.nodot}",)

    def pip_arguments(self):
        arguments = ["--python-version", self.python_version, "--implementation", self.implementation]
        for platform in self.platforms:
            arguments += ["--platform", platform]
        for abi in self.abis:
            arguments += ["--abi", abi]
        return arguments

    def supported(self):
        """Every wheel tag an interpreter of this target installs."""
        major, minor = self.python_version.split(".")
        version = (int(major), int(minor))
        platforms = [tag for platform in self.platforms for tag in expand(platform)]
        found = set(tags.cpython_tags(version, self.effective_abis, platforms)) if self.implementation == "cp" else set()
        found.update(tags.compatible_tags(version, f"{self.implementation}{self.nodot}", platforms))
        return found

    def check_wheel(self, filename):
        """Raise unless the wheel file name carries a tag this target installs."""
        try:
            wheel_tags = parse_wheel_filename(filename)[3]
        except InvalidWheelFilename as error:
            raise TargetError(f"{filename} is not a wheel file name ({error})") from error
        if not wheel_tags & self.supported():
            raise TargetError(f"{filename} does not install on {', '.join(self.platforms)} with Python {self.python_version} "
                              f"({', '.join(sorted(str(tag) for tag in wheel_tags))}): refusing it")


def distribution_of(filename):
    """(normalised project, version, kind) a wheel or sdist file name says."""
    try:
        if filename.endswith(".whl"):
            project, version = parse_wheel_filename(filename)[:2]
            return str(canonicalize_name(project)), str(version), "wheel"
        project, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, ValueError) as error:
        raise TargetError(f"{filename} is neither a wheel nor a source distribution ({error})") from error
    return str(canonicalize_name(project)), str(version), "sdist"


def expand(platform):
    """A platform tag and the older ones an installer on it also accepts (manylinux by glibc version)."""
    legacy = next(((name, glibc) for name, glibc in LEGACY_MANYLINUX.items() if platform.startswith(name + "_")), None)
    if legacy:
        return [platform] + expand(f"manylinux_{legacy[1][0]}_{legacy[1][1]}_{platform[len(legacy[0]) + 1:]}")
    match = MANYLINUX.match(platform)
    if not match:
        return [platform]
    major, minor, arch = int(match[1]), int(match[2]), match[3]
    found = [f"manylinux_{major}_{older}_{arch}" for older in range(minor, 4, -1)]
    found += [f"{name}_{arch}" for name, glibc in LEGACY_MANYLINUX.items() if glibc <= (major, minor)]
    return found
