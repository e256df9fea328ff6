# Parley's one image. The web server, the Celery worker and Celery beat all run from it and
# differ only by command; everything else comes from environment variables (DATABASE_URL,
# REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, DEBUG). See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, the locked versions with their hashes (requirements.lock, written from
# pyproject.toml by `make lock`), so a code change reuses this layer. Every dependency ships
# manylinux wheels (psycopg[binary] included): no compiler needed.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Static files are collected below: WhiteNoise serves them from STATIC_ROOT under hashed
# names (cached for a year) with gzip and brotli copies, not from the sources.
ENV WHITENOISE_USE_FINDERS=false

# Editable, so settings find templates/ and static/ next to the code in /app.
COPY . .
RUN pip install --no-deps -e . \
    && python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --no-create-home --home-dir /app parley \
    && install -d -o parley -g parley /var/lib/parley/triage-models

USER parley
EXPOSE 8000

# The web process. docker-compose.yml runs the worker and beat from the same image, and
# applies migrations before this starts.
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--no-schedule"]
