# syntax=docker/dockerfile:1
# faceswap/seed: a seed node (faceswap-node run, FSC_ROLES=seed) and fsc, for the preStop leave and the palette.
# From the repository root:  docker build -f docker/seed.Dockerfile -t faceswap/seed:1.0.0 .
# A seed holds no models and touches no pixels: no OpenCV or FFmpeg libraries in this image.

# onnx.proto (the ONNX schema FaceSwap.Inference compiles) from Debian's libonnx-dev, as on the development machines.
FROM debian:bookworm-slim AS onnx-proto
WORKDIR /src
COPY scripts/fetch-onnx-proto.sh scripts/unpack-deb.sh scripts/
RUN apt-get update -qq && bash scripts/fetch-onnx-proto.sh

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/ src/
COPY --from=onnx-proto /src/.cache/onnx/onnx.proto .cache/onnx/onnx.proto
# Both into one folder: fsc references the node's project, so its publish carries the node's files anyway (the
# same files: package versions are pinned centrally).
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/FaceSwap.Node -c Release -r linux-x64 --self-contained false -o /out/app -nologo \
 && dotnet publish src/FaceSwap.Cli -c Release -r linux-x64 --self-contained false -o /out/app -nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /out/app /app/bin
# The default config: relative paths in it resolve against /app (the working folder); $FSC_CONFIG layers over it.
COPY config/faceswap.conf /app/config/faceswap.conf
# .cache: the default token file and placement folder, for a `docker run` without volumes.
RUN mkdir -p /app/.cache && chown "$APP_UID" /app/.cache
# ASPNETCORE_HTTP_PORTS: the base image's 8080 would only draw a warning; the node binds its own endpoint (9110).
# MALLOC_ARENA_MAX: glibc gives each thread that allocates its own malloc arena (up to 8 per core), and each keeps
# what it freed; a node's many threads made RSS climb 3–11 MiB a minute with nothing leaking (BENCHMARKS.md, Soak).
ENV PATH="/app/bin:${PATH}" \
    ASPNETCORE_HTTP_PORTS="" \
    MALLOC_ARENA_MAX=2 \
    FSC_ROLES=seed
EXPOSE 4053 9110
USER $APP_UID
ENTRYPOINT ["faceswap-node", "run"]
