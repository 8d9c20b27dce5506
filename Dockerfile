# The site's image: gunicorn for the web process, `manage.py qcluster` for the worker (see
# docker-compose.yml). Static files are collected at build time and served by WhiteNoise.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    DEBUG=0 \
    STATIC_ROOT=/app/staticfiles \
    ARTIFACTS_DIR=/data/artifacts \
    UPLOADS_DIR=/data/uploads

WORKDIR /app
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir uv==0.13.8 \
    && uv pip install --system --no-cache -r requirements/base.txt \
    && useradd --create-home --uid 1000 app \
    && mkdir -p /data/artifacts /data/uploads \
    && chown -R app /data

COPY . .
# collectstatic needs settings but no database: a throwaway key and SQLite path are enough here.
RUN SECRET_KEY=collectstatic-only-throwaway-key-not-used-to-sign-anything-at-all DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput --verbosity 0

USER app
EXPOSE 8000
CMD ["gunicorn", "anomaly_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "120", \
     "--access-logfile", "-"]
