# credd in a container: `docker build -t credd .` (docs/deployment.md, Packaging).
# Builds offline from the committed .sqlx query data: no database needed to compile.
FROM rust:1.94-bookworm AS build
WORKDIR /src
COPY . .
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked --bin credd

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/credd --create-home credd
COPY --from=build /src/target/release/credd /usr/local/bin/credd
USER credd
WORKDIR /var/lib/credd
# The data dir (generated master key, bootstrap credentials, the SQLite file by default).
VOLUME /var/lib/credd
ENV CREDD_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["credd"]
CMD ["serve"]
