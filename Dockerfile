# syntax=docker/dockerfile:1
#
# Hearth homeserver image: a release build of the `hearth` binary on Debian bookworm.
#
#   docker build -t hearth .
#   docker run -p 127.0.0.1:8080:8080 -v hearth-data:/data hearth
#
# NOTE: no Docker engine runs on the project's development machines, so this file is not
# exercised in CI. See docker-compose.yml and README.md ("Docker").

# ---- web client ---------------------------------------------------------------------------------
# The web client (web/, README "Web client") is built here and embedded by build.rs through
# HEARTH_WEB_DIST, so the Rust stage needs no Node.js.
FROM node:20-bookworm AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---- build --------------------------------------------------------------------------------------
# Rust 1.95 (the crate's rust-version). The plain `rust:1.95` tag is Debian trixie, whose glibc
# is newer than the bookworm runtime below; the `-bookworm` variant keeps the two in step.
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
COPY --from=web /web/dist /web-dist
ENV HEARTH_WEB_DIST=/web-dist
# The cache mounts keep the cargo registry and build artefacts between builds (BuildKit);
# the binary is copied out of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p hearth --bin hearth -p hearth-registrar --bin hearth-registrar \
 && install -m 0755 target/release/hearth /usr/local/bin/hearth \
 && install -m 0755 target/release/hearth-registrar /usr/local/bin/hearth-registrar

# ---- runtime ------------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home hearth \
 && mkdir -p /data \
 && chown hearth:hearth /data
COPY --from=builder /usr/local/bin/hearth /usr/local/bin/hearth
# The registrar (spec/registrar.md) ships in the same image: `--entrypoint hearth-registrar`.
COPY --from=builder /usr/local/bin/hearth-registrar /usr/local/bin/hearth-registrar

# Listen on all interfaces inside the container; keep the SQLite database (default) and other
# generated files in the /data volume. Every other setting: README.md "Configuration".
ENV HEARTH_LISTEN=0.0.0.0:8080 \
    HEARTH_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
USER hearth
WORKDIR /data
ENTRYPOINT ["hearth"]
CMD ["serve"]
