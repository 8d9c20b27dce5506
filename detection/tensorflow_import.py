"""Importing TensorFlow (and Keras on it) without its native start-up lines on stderr.

TensorFlow's C++ side writes lines such as "All log messages before absl::InitializeLog() is called
are written to STDERR" and "I0000 ... oneDNN custom operations are on" straight to file descriptor 2
while it loads, whatever TF_CPP_MIN_LOG_LEVEL says, and a newcomer reads them as errors. During
the import, descriptor 2 goes to a temporary file; afterwards every captured line that is not one
of those known start-up lines is written back to stderr, so nothing else printed meanwhile is lost.
"""

from __future__ import annotations

import os
import sys
import tempfile
from types import ModuleType

STARTUP_LINES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions",
    "Unable to register cu",  # cuDNN / cuFFT / cuBLAS factories on a machine without a GPU
    "TF-TRT Warning",
    "computation placer already registered",
)


def is_startup_line(line: str) -> bool:
    return any(marker in line for marker in STARTUP_LINES)


def import_tensorflow_quietly() -> tuple[ModuleType, ModuleType]:
    """Return (tensorflow, keras), imported with TensorFlow's start-up lines left out of stderr."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        import keras
        import tensorflow

        return tensorflow, keras
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
            import tensorflow
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True)
                if not is_startup_line(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
    return tensorflow, keras
