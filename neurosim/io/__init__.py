"""Files: atomic writes (:mod:`~neurosim.io.atomic`: a file is complete or absent, never half
written) and the network file format (:mod:`~neurosim.io.network`, ``.npz``)."""
from __future__ import annotations

from neurosim.io.atomic import (
                                atomic_save_npy,
                                atomic_save_npz,
                                atomic_write,
                                atomic_write_bytes,
                                atomic_write_json,
                                atomic_write_text,
                                check_writable,
                                read_error,
)

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_save_npy",
           "atomic_save_npz", "check_writable", "read_error"]
