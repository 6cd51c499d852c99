FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /srv/omnistock

# The dependencies first, exactly as locked (hash-checked): this layer is rebuilt only when
# requirements/runtime.lock changes (`make lock` regenerates it), not on every code change.
COPY requirements/runtime.lock ./requirements/
RUN pip install --require-hashes -r requirements/runtime.lock

# Then the project itself, with nothing more resolved or downloaded than its build backend.
COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
RUN pip install --no-deps . && rm -rf build omnistock.egg-info

COPY alembic.ini ./
COPY migrations ./migrations

RUN useradd --system --uid 10001 omnistock
USER omnistock
EXPOSE 8000

# The API; migrations run once before it (`omnistock migrate`), see docker-compose.yml.
CMD ["omnistock", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
