"""A real-service testbed on loopback: registries, runtimes, S3 and helm.

Everything a running testbed owns lives under one state directory, so that it can be
found, reused and stopped again by another process (the CLI, a pytest session, a CI
step) even after the process that started it was killed.
"""
