"""WSGI entry point (gunicorn anomaly_site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anomaly_site.settings")
application = get_wsgi_application()
