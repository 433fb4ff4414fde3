"""Shared pytest setup: the real-service testbed, started once per test session.

ansible-test units also loads this file (with its own settings), so the testbed package
is made importable here rather than through tests/pytest.ini.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

pytest_plugins = ["testbed.pytest_plugin"]
