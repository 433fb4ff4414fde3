"""Offline stand-in for the get-pip.py that ansible-test downloads into every venv it makes.

ansible-test runs this file in-process (runpy) with pip's arguments in sys.argv. The real
script bundles pip; here pip comes from the interpreter's own ensurepip, and the requested
packages are installed by it from the configured package index.
"""

import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null; pip would then miss the machine's index and CA.
pip_environment = {key: value for key, value in os.environ.items() if key != "PIP_CONFIG_FILE"}
pip_arguments = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *pip_arguments], env=pip_environment))
