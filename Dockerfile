# syntax=docker/dockerfile:1
# Build:  docker build -t scepter .
# Needs BuildKit (the default builder since Docker 23 / docker compose v2) for
# the cache mounts, which keep the cargo registry and target dir between builds.

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin scepter \
    && install -D -m 0755 target/release/scepter /out/scepter

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 scepter \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/scepter \
        --shell /usr/sbin/nologin scepter \
    && install -d -o scepter -g scepter -m 0750 /var/lib/scepter
COPY --from=builder /out/scepter /usr/local/bin/scepter
WORKDIR /var/lib/scepter
USER scepter
EXPOSE 8080
ENV SCEPTER_LISTEN=0.0.0.0:8080
ENTRYPOINT ["scepter"]
CMD ["serve"]
