"""Settings for the test suite: the site's own, with static files found per request and a fast hasher.

WhiteNoise serves static files through the finders on each request (as the development server
does), whatever DEBUG the environment sets: with DEBUG off and no autorefresh it would list every
finder's files at start, which django-plotly-dash's finder cannot do.
"""

from anomaly_site.settings import *  # noqa: F403

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Passwords are hashed thousands of times across the suite; MD5 keeps that cheap. Never in production.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Runs beat once when they start and not from a second thread: an in-process test holds one
# transaction that another connection could not see.
HEARTBEAT_SECONDS = 0
