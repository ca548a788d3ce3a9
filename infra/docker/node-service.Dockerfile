# One image for Bluelight's Node services; docker-compose.yml picks the command per service.
# The services run compiled JavaScript (services/<name>/dist/main.js, `npm run build`), not tsx.
FROM node:20.19-bookworm-slim
WORKDIR /app
# The services listen on 127.0.0.1 unless told otherwise; a container's port is reached from outside it.
ENV BIND_HOST=0.0.0.0
COPY . .
# Installed with the devDependencies to build (esbuild), which are then removed. `npm install`
# rather than `npm ci`: see infra/bootstrap.mjs (optional platform packages).
RUN npm install --no-audit --no-fund \
  && npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && npm cache clean --force
ENV NODE_ENV=production
USER node
