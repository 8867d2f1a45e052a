"""Custom-resource manifests as plain data: load, build, name, validate, diff and read status.

Nothing here talks to Kubernetes; every function takes and returns dicts so it can be tested
without a cluster and reused by the hooks, operators, sensors and the sandbox.
"""
