# The production image: scripts/serve.sh (gunicorn) on Python 3.11. Configuration comes from the
# environment at run time (README, "Deploy"); nothing secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VENV=/opt/venv \
    BIND=0.0.0.0:8000 \
    STATIC_ROOT=/srv/static

WORKDIR /app
# The virtualenv scripts/serve.sh looks for ($VENV), so it installs nothing at start.
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv "$VENV" \
    && "$VENV/bin/pip" install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt

COPY . .
RUN useradd --system --home-dir /app crm \
    && mkdir -p "$STATIC_ROOT" && chown crm "$STATIC_ROOT"
USER crm

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["bash", "scripts/serve.sh"]
