"""Settings for the test suite: the site's own, with static files found per request and a fast hasher.

WhiteNoise serves static files through the finders on each request (as the development server
does), whatever DEBUG the environment sets: with DEBUG off and no autorefresh it would list every
finder's files at start, which django-plotly-dash's finder cannot do.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from anomaly_site.settings import *  # noqa: F403

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Passwords are hashed thousands of times across the suite; MD5 keeps that cheap. Never in production.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Runs beat once when they start and not from a second thread: an in-process test holds one
# transaction that another connection could not see.
HEARTBEAT_SECONDS = 0

# Model files and uploads of the suite go to a folder of its own, never the user's data folder (where
# a site run from this checkout keeps its models: a test that fails version 1 would delete theirs).
# Child processes that are given their folders in the environment keep them.
_SCRATCH = Path(tempfile.mkdtemp(prefix="anomaly-tests-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
if "ARTIFACTS_DIR" not in os.environ:
    ARTIFACTS_DIR = _SCRATCH / "artifacts"
if "UPLOADS_DIR" not in os.environ:
    UPLOADS_DIR = _SCRATCH / "uploads"
