# The announcement bot (bots/announce) as an image. Building it needs a Docker engine:
#
#   docker build -t bertybot-announce .
#   docker run -d --name announce --restart unless-stopped --stop-timeout 30 \
#     --env-file bots/announce/.env -v bertybot-announce-data:/data \
#     -e BERTYBOT_ANNOUNCE=/ip4/<the host's public address>/tcp/4001 \
#     -p 4001:4001 -p 127.0.0.1:8080:8080 bertybot-announce
#   docker logs announce        # the contact link is printed at start
#
# docker-compose.yml runs it with a replica. The volume is the bot's identity (its keys, contacts,
# channels, subscribers and schedules): the same volume is the same bot. The same image runs a
# replica: `node --conditions=bertybot-source src/cli/main.ts replica ...` (see docker-compose.yml).
#
# The bot runs its TypeScript sources as `npm run announce` does: Node strips the types, and the
# bertybot-source condition resolves `bertybot` to src/. So there is no build step, and neither
# TypeScript nor dist/ is needed at run time.

# Build stage: the production dependencies. --ignore-scripts skips the package's `prepare` (it
# builds dist/ with TypeScript, a dev dependency the image does not need) and classic-level's
# install script (it ships prebuilt binaries for linux-x64 and linux-arm64, loaded at run time).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime stage: Node 24, the dependencies and the sources, owned by root and run as the
# unprivileged `node` user, who can write only to /data.
FROM node:24-slim
ENV NODE_ENV=production \
    BERTYBOT_DATA=/data \
    BERTYBOT_LISTEN=/ip4/0.0.0.0/tcp/4001 \
    BERTYBOT_HTTP=0.0.0.0:8080 \
    BERTYBOT_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY bots/announce ./bots/announce
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
VOLUME ["/data"]
# 4001: libp2p (TCP), for people, replicas and other peers; publish it. Set BERTYBOT_ANNOUNCE to
# the address people reach it at, or the contact link carries the container's own address.
# 8080: GET /healthz and GET /metrics (BERTYBOT_HTTP); publish it on 127.0.0.1 only.
EXPOSE 4001 8080
# SIGTERM stops the bot cleanly: it takes no new events, lets running handlers finish, sends
# what is queued (for up to 10 s) and closes its stores. Give it time: `docker run --stop-timeout
# 30`, `stop_grace_period: 30s` in Compose (Docker's default of 10 s can cut the drain short).
# SIGHUP reloads the schedule file (`docker kill -s HUP announce`).
STOPSIGNAL SIGTERM
# Healthy while the bot runs and its outbox moves (GET /healthz answers 200; 503 otherwise).
# Node's fetch, as slim images have no curl; the port is BERTYBOT_HTTP's.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.BERTYBOT_HTTP ?? '').split(':').pop() + '/healthz', { signal: AbortSignal.timeout(5000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--conditions=bertybot-source", "bots/announce/index.ts"]
