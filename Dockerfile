# plenum: multi-stage build; a slim runtime image that runs `plenum serve` as a non-root user.
#
#   docker build -t plenum .
#   docker run -p 443:443 -p 40000-49999:40000-49999/udp plenum
#
# The image listens on 0.0.0.0:443 (PLENUM_LISTEN; Docker lets unprivileged users bind low
# ports inside a container) and keeps its data (SQLite history,
# self-signed certificate) in /var/lib/plenum (PLENUM_DATA_DIR); mount a volume there.
# Mount your own configuration at /etc/plenum to replace the shipped example rooms (a
# branding/ folder in it brands the web app, which is built into the binary).

FROM rust:1.95-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config libopus-dev libvpx-dev libyuv-dev libopenh264-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p plenum-node --bin plenum \
 && strip target/release/plenum

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libopus0 libvpx7 libyuv0 libopenh264-7 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/plenum --shell /usr/sbin/nologin plenum \
 && mkdir -p /var/lib/plenum /etc/plenum \
 && chown plenum:plenum /var/lib/plenum
COPY --from=build /src/target/release/plenum /usr/local/bin/plenum
COPY config/ /etc/plenum/
ENV PLENUM_LISTEN=0.0.0.0:443 \
    PLENUM_DATA_DIR=/var/lib/plenum
USER plenum
EXPOSE 443/tcp 40000-49999/udp
VOLUME ["/var/lib/plenum"]
ENTRYPOINT ["plenum"]
CMD ["serve", "--config", "/etc/plenum"]
