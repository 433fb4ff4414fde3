"""Damage a blob in an OCI layout the way bit rot or a bad copy would: same size, other bytes."""

import os


def corrupt_blob(layout_dir, digest):
    """Flip the middle byte of the blob named digest in the layout at layout_dir; returns its path."""
    algorithm, hexdigest = digest.split(":", 1)
    path = os.path.join(str(layout_dir), "blobs", algorithm, hexdigest)
    with open(path, "r+b") as handle:
        handle.seek(os.path.getsize(path) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    return path
