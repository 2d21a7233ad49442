# c2s-enrich production image: `serve` (API + workers) against DATABASE_URL.
# Multi-stage: the toolchain stays in the builder; the runtime is Debian slim
# with CA certificates and a non-root user. Migrations run as Fly's
# release_command (`c2s-enrich migrate`) before the new machines start.

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY fixtures ./fixtures
# The checked queries compile against the query data in .sqlx/, offline
# (.cargo/config.toml sets SQLX_OFFLINE=true): no database at build time.
COPY .cargo ./.cargo
COPY .sqlx ./.sqlx
# --no-default-features: without the lab (demo, bench, chaos), so the image
# never links the provider sandbox (ADR 0001).
RUN cargo build --release --locked -p c2s-enrich --no-default-features \
 && install -D -m 0755 target/release/c2s-enrich /out/c2s-enrich

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin c2s
COPY --from=builder /out/c2s-enrich /usr/local/bin/c2s-enrich
USER 10001:10001
ENV PORT=8080 LOG_FORMAT=json RUST_LOG=info,sqlx=warn
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/c2s-enrich"]
CMD ["serve"]
