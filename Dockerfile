# Two stages: build with the Rust toolchain, run on a slim Debian with only the binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin lanyard

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home /var/lib/lanyard lanyard \
 && mkdir -p /var/lib/lanyard/keys && chown -R lanyard /var/lib/lanyard
COPY --from=build /src/target/release/lanyard /usr/local/bin/lanyard
USER lanyard
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/lanyard"]
CMD ["serve"]
