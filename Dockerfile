# Parley's one image. The web server, the Celery worker and Celery beat all run from it and
# differ only by command; everything else comes from environment variables (DATABASE_URL,
# REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, DEBUG). See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change reuses this layer. Every
# dependency ships manylinux wheels (psycopg[binary] included): no compiler needed.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Editable, so settings find templates/ and static/ next to the code in /app.
COPY . .
RUN pip install --no-deps -e . \
    && python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --no-create-home --home-dir /app parley \
    && install -d -o parley -g parley /var/lib/parley/triage-models

# collectstatic ran: WhiteNoise serves the compressed copies from STATIC_ROOT.
ENV WHITENOISE_USE_FINDERS=false

USER parley
EXPOSE 8000

# The web process. docker-compose.yml runs the worker and beat from the same image, and
# applies migrations before this starts.
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--no-schedule"]
