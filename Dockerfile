FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/omnistock

COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
RUN pip install --upgrade pip && pip install .

COPY alembic.ini ./
COPY migrations ./migrations

RUN useradd --system --uid 10001 omnistock
USER omnistock
EXPOSE 8000

# The API; migrations run once before it (`omnistock migrate`), see docker-compose.yml.
CMD ["omnistock", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
