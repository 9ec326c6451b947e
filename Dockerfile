# syntax=docker/dockerfile:1
# The `cocreate` binary in a small image. Two stages: a Rust toolchain builds the release binary,
# a slim Debian runs it as a non-root user. Templates, locales, static files and migrations are
# compiled into the binary, and SQLite and libpq are bundled (libsqlite3-sys "bundled", pq-sys
# "bundled_without_openssl"), so the runtime stage needs no database client libraries.
#
#   docker build -t cocreate .
#   docker run --rm -p 8080:8080 -e COCREATE_LISTEN=0.0.0.0:8080 -e COCREATE_DEV=1 cocreate

# --- build ----------------------------------------------------------------------------------
# Rust 1.95, as Cargo.toml's rust-version says: the locked dependencies need it (parking_lot
# 0.13 wants 1.95, uuid 1.29 wants 1.89), and the build is `--locked`.
FROM rust:1.95-bookworm AS build
# aws-lc-sys (TLS for outgoing requests) may build with cmake; pq-src and libsqlite3-sys only
# need the C compiler that the rust image already has (and perl, also there).
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Dependencies first, against stub sources, so that editing the code does not rebuild them.
# The stub bench files exist only because Cargo.toml names the benches (every one of them:
# cargo refuses a manifest whose bench file is missing; tests/compose.rs checks the list).
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/federation.rs \
    && echo 'fn main() {}' > benches/pages.rs \
    && echo 'fn main() {}' > benches/scale.rs \
    && cargo build --release --locked \
    && rm -rf src benches

# The real sources. Touch the crate roots so cargo rebuilds the crate, not the stub.
COPY src ./src
COPY benches ./benches
COPY migrations ./migrations
COPY templates ./templates
COPY locales ./locales
COPY static ./static
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin cocreate \
    && cp target/release/cocreate /usr/local/bin/cocreate

# --- run ------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# CA certificates for https to other nodes; nothing else is linked dynamically beyond glibc.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home --shell /usr/sbin/nologin cocreate
COPY --from=build /usr/local/bin/cocreate /usr/local/bin/cocreate

# The default SQLite database lives in the data volume (ignored when COCREATE_DATABASE_URL
# names PostgreSQL). Listen on all interfaces inside the container; the domain and dev mode
# are the deployment's choice (see README: without dev mode the node mints https ids and wants
# a TLS proxy in front).
ENV COCREATE_LISTEN=0.0.0.0:8080 \
    COCREATE_DATABASE_URL=sqlite:///data/cocreate.db
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080
# No HEALTHCHECK: the image has no curl or wget to probe with, and adding one for a probe
# would grow the runtime image. An orchestrator can probe the node's HTTP port itself
# (a `GET /healthz` endpoint is being added to the node).
ENTRYPOINT ["cocreate"]
CMD ["serve"]
