# Lanyard in a container: build with the Rust toolchain, run on a slim Debian with the
# binary and exactly the packages in packaging/runtime-packages (tests/it/container.rs
# checks that list against the libraries the binary links).
#
#   docker build -t lanyard .
#   docker run -v lanyard:/var/lib/lanyard -v $PWD/lanyard.toml:/etc/lanyard/lanyard.toml:ro \
#     -p 8080:8080 lanyard
#
# The config is read from /etc/lanyard/lanyard.toml ($LANYARD_CONFIG); signing keys and the
# embedded SQLite audit trail live on the volume /var/lib/lanyard (point `keys_dir` at
# /var/lib/lanyard/keys). See docker-compose.yml for Redis and PostgreSQL beside it.

FROM rust:1-bookworm AS build
COPY packaging/build-packages /tmp/build-packages
RUN apt-get update \
 && sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /tmp/build-packages \
    | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bin lanyard

FROM debian:bookworm-slim
COPY packaging/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /tmp/runtime-packages \
    | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/lanyard --shell /usr/sbin/nologin lanyard \
 && install -d -o lanyard -g lanyard -m 0700 /var/lib/lanyard /var/lib/lanyard/keys \
 && install -d -m 0755 /etc/lanyard
COPY --from=build /src/target/release/lanyard /usr/local/bin/lanyard
ENV LANYARD_CONFIG=/etc/lanyard/lanyard.toml \
    LANYARD_LOG_FORMAT=json
VOLUME ["/var/lib/lanyard"]
WORKDIR /var/lib/lanyard
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/lanyard", "health"]
ENTRYPOINT ["/usr/local/bin/lanyard"]
CMD ["serve"]
