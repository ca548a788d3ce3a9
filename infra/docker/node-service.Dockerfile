# One image for Bluelight's Node services; docker-compose.yml picks the command per service.
FROM node:20.19-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY . .
# `npm install` rather than `npm ci`: see infra/bootstrap.mjs (optional platform packages).
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
USER node
