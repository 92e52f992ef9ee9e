# clerk-sync: one image with both binaries, `receiver` and `worker`.
#
#   docker build -t clerk-sync .
#   docker run --rm clerk-sync worker --help
#
# Works with BuildKit and with the legacy builder: dependencies are cached in their
# own layer by building the workspace once with stub sources, so editing the code
# does not rebuild every crate.

# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------
FROM rust:1-bookworm AS build

# Diesel links libpq; svix and reqwest use native-tls (OpenSSL). The rust image
# already has these, installing them makes the dependency explicit.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# 1. Manifests only, with stub sources: this layer holds every compiled dependency
#    and is reused as long as Cargo.toml / Cargo.lock do not change. Every workspace
#    member needs its manifest and a target, including the test-only `integration`
#    and `bench` crates, even though only `receiver` and `worker` are built.
COPY Cargo.toml Cargo.lock ./
COPY shared/Cargo.toml shared/build.rs shared/
COPY receiver/Cargo.toml receiver/
COPY worker/Cargo.toml worker/
COPY integration/Cargo.toml integration/
COPY bench/Cargo.toml bench/
# Path dependencies and [patch] targets are complete crates: copy them whole, here,
# before the first build (scripts/check-compose fails when one is missing).
COPY vendor vendor
RUN mkdir -p shared/src shared/migrations receiver/src worker/src integration/src bench/src \
 && touch shared/src/lib.rs receiver/src/lib.rs worker/src/lib.rs integration/src/lib.rs \
 && echo 'fn main() {}' > receiver/src/main.rs \
 && echo 'fn main() {}' > worker/src/main.rs \
 && echo 'fn main() {}' > bench/src/main.rs \
 && cargo build --release --locked -p receiver -p worker \
 && rm -rf shared/src receiver/src worker/src integration/src bench/src shared/migrations

# 2. The real sources. shared embeds shared/migrations (embed_migrations!) and
#    shared/fixtures (include_str!) at compile time, so both must be here.
COPY shared shared
COPY receiver receiver
COPY worker worker
COPY integration integration
COPY bench bench

# COPY keeps the files' modification times, which may be older than the stub build
# above; touch them so Cargo rebuilds the workspace crates instead of reusing stubs.
RUN find shared receiver worker integration bench -exec touch {} + \
 && cargo build --release --locked -p receiver -p worker \
 && cp target/release/receiver target/release/worker /usr/local/bin/ \
 && /usr/local/bin/worker --version \
 && /usr/local/bin/receiver --version

# ---------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# libpq5: Diesel's Postgres driver. libssl3 + ca-certificates: TLS (amqps://,
# reqwest). curl: the compose healthchecks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 clerk-sync \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin clerk-sync

COPY --from=build /usr/local/bin/receiver /usr/local/bin/worker /usr/local/bin/

# Both binaries read a .env from the working directory if there is one; the image
# ships none (.dockerignore keeps it out). Configure with environment variables.
WORKDIR /app
USER 10001:10001

# receiver: BIND_ADDR (default 0.0.0.0:3000). worker: WORKER_METRICS_ADDR
# (default 0.0.0.0:9000) for /healthz, /readyz, /metrics.
EXPOSE 3000 9000

# `worker` alone means `worker run`: migrate, declare the topology, consume.
# For the receiver: `docker run … clerk-sync receiver`.
CMD ["worker"]
