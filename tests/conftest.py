"""Shared pytest setup: the real-service testbed, started once per test session."""

pytest_plugins = ["testbed.pytest_plugin"]
