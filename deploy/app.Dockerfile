# syntax=docker/dockerfile:1
# The Polkuopas package on Python 3.11: the action server, the web app and the
# admin CLI `polkuopas`, one image (deploy/compose.yml picks the command).
# Build context: the repository root.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY actions/ actions/
# The contract (actions/contract, its own distribution) before the package
# that depends on it: pip takes it from here, never from an index.
RUN pip install --no-cache-dir ./actions/contract \
 && pip install --no-cache-dir .

COPY paths/ paths/
COPY web-widget/ web-widget/

# The package is installed (not in the source tree), so the folders are named.
# On its own the image keeps the client store in SQLite on the /data volume;
# deploy/compose.yml sets POLKUOPAS_DB to its PostgreSQL URL instead.
ENV POLKUOPAS_PATHS_DIR=/app/paths \
    POLKUOPAS_WIDGET_DIR=/app/web-widget \
    POLKUOPAS_DB=/data/polkuopas.db

RUN useradd --create-home --uid 10001 polkuopas \
 && mkdir /data && chown polkuopas: /data
USER polkuopas
VOLUME ["/data"]
EXPOSE 5055 8000
CMD ["python", "-m", "polkuopas.action_server"]
