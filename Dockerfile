# syntax=docker/dockerfile:1
# podium images, built from this checkout:
#   docker build --target api   -t podium:dev .        # podium up: REST API, web UI, scheduler
#   docker build --target serve -t podium-serve:dev .  # podium serve: prediction routes only
# Both run as a non-root user with PODIUM_HOME on a writable volume.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .


FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PODIUM_HOME=/var/lib/podium
RUN groupadd --system --gid 10001 podium \
    && useradd --system --uid 10001 --gid podium --home-dir /var/lib/podium --create-home podium
COPY --from=build /wheels /wheels

# The serving image: the prediction routes with the backends a replica reads from.
FROM runtime AS serve
ARG PODIUM_VERSION=0.1.0
RUN pip install --no-cache-dir --find-links /wheels "podium[postgres,s3,redis,nats,onnx,grpc]==${PODIUM_VERSION}" \
    && rm -rf /wheels
USER 10001
WORKDIR /var/lib/podium
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["podium"]
CMD ["serve", "--help"]

# The API image: everything but Ray (compute runs on a Ray cluster by PODIUM_RAY_ADDRESS).
FROM runtime AS api
ARG PODIUM_VERSION=0.1.0
RUN pip install --no-cache-dir --find-links /wheels "podium[postgres,s3,redis,nats,onnx,tune,grpc]==${PODIUM_VERSION}" \
    && rm -rf /wheels
USER 10001
WORKDIR /var/lib/podium
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["podium"]
CMD ["up", "--host", "0.0.0.0", "--port", "8000"]
