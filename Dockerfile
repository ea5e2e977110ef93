# Omni as an image: the addon and the TypeScript are built in the first stage; the second is a
# slim runtime with only what `omni serve` needs.
#   docker build -t omni .
#   docker run -p 8080:8080 -v models:/models omni [--model /models/file.gguf ...]
# NODE_VERSION picks the Node.js line of both stages (docker build --build-arg NODE_VERSION=26 ...).
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /omni
COPY package.json package-lock.json ./
COPY native ./native
COPY src ./src
COPY tsconfig.json openapi.yaml ./
# Builds the native addon (one binary for every x86-64 level: the kernels are chosen at run time)
# and compiles the TypeScript; then drops the development packages.
RUN npm ci && npm prune --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /omni
COPY --from=build /omni/package.json ./
COPY --from=build /omni/node_modules ./node_modules
COPY --from=build /omni/dist ./dist
COPY --from=build /omni/build/native/Release/omni.node ./build/native/Release/omni.node
ENV NODE_ENV=production \
    OMNI_HOST=0.0.0.0 \
    OMNI_PORT=8080 \
    OMNI_DATA_DIR=/models
# A new named volume takes this folder's owner, so the server (user node) can write downloads there.
RUN mkdir -p /models && chown node:node /models
VOLUME /models
EXPOSE 8080
USER node
ENTRYPOINT ["node", "dist/src/cli.js", "serve"]
