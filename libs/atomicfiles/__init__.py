"""Atomic file outputs: readers see the old file or the new one, never half of one."""

from libs.atomicfiles.files import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]
