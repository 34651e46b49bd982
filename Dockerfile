# syntax=docker/dockerfile:1
# One image for every hikhub service; the command picks which one runs:
#   docker build -t hikhub:0.1.0 .
#   docker run hikhub:0.1.0 ingest        # or archiver | provisioner | api | all | migrate | help
# Node runs as PID 1 with no init: each service installs its own SIGTERM/SIGINT handler (drain:
# readiness 503, in-flight work finishes) and hikhub starts no child processes, so there is
# nothing to reap and nothing in between to forward signals. (`docker run --init` still works:
# the healthcheck finds the service under an init too.)

ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: full dependencies, TypeScript → dist/ ------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY libs ./libs
COPY services ./services
COPY tools ./tools
RUN npm run build

# --- runtime dependencies only ---------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime -------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data
WORKDIR /app
# The official image's unprivileged user `node` (uid/gid 1000); k8s manifests run as this uid.
RUN mkdir -p /data && chown node:node /data
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The web console's static modules (served by the api; tsc copies no static files): the api finds
# them at services/api/console beside dist/.
COPY --from=build /app/services/api/console ./services/api/console
COPY package.json ./
USER node:node
VOLUME ["/data"]
# ingest 8080, api 8081; ops ports (/healthz /readyz /metrics): ingest 9101, archiver 9102, provisioner 9103, api 9104.
EXPOSE 8080 8081 9101 9102 9103 9104
STOPSIGNAL SIGTERM
# Probes /readyz on the ops port(s) of the service this container runs (see tools/deploy/healthcheck.ts).
HEALTHCHECK --interval=15s --timeout=6s --start-period=40s --retries=3 \
  CMD ["node", "dist/tools/deploy/healthcheck.js"]
ENTRYPOINT ["node", "dist/tools/deploy/run-service.js"]
CMD ["all"]
