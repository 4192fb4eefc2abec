# syntax=docker/dockerfile:1
# taskino sidecar image. Build: docker build -t taskino .   Run: docker run taskino run --config /tasks

# 1. Compile TypeScript (dev dependencies live only in this stage).
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-lua.mjs scripts/
COPY src/ src/
RUN npm run build

# 2. Production dependencies only.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. The runtime: Node 22 LTS, no build tools, a numeric non-root user.
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin/ ./bin/
RUN ln -s /app/bin/taskino.js /usr/local/bin/taskino
USER 10001:10001
EXPOSE 9464
# Node is PID 1 and taskino handles SIGTERM itself: it stops claiming, lets running calls finish
# within --shutdown-grace, releases its leases and exits 0.
ENTRYPOINT ["taskino"]
CMD ["run"]
