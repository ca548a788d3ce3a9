# One image for Bluelight's Node services; docker-compose.yml picks the command per service.
FROM node:20.19-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# The services listen on 127.0.0.1 unless told otherwise; a container's port is reached from outside it.
ENV BIND_HOST=0.0.0.0
COPY . .
# `npm install` rather than `npm ci`: see infra/bootstrap.mjs (optional platform packages).
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
USER node
