#!/bin/bash
# Runs on the lent GPU machine, from the repository root, with .gpu carried (scripts/pack-device.sh).
# Writes logs to $OUT. It needs the GL/Vulkan loaders (libglvnd0 and friends): NVIDIA's Vulkan ICD is libGLX_nvidia. Usage there: bash bench/device/run.sh [parts]
set -u
OUT=${OUT:-/tmp/out}
G=.gpu
for f in $G/deb/*.deb; do dpkg -x "$f" /; done; ldconfig
xz -dc $G/node.xz > /tmp/node && chmod +x /tmp/node
mkdir -p /tmp/run/node_modules/webgpu/dist/linux-x64 /tmp/mnist
cp $G/webgpu/index.js $G/webgpu/package.json /tmp/run/node_modules/webgpu/
xz -dc $G/webgpu/dawn.node.xz > /tmp/run/node_modules/webgpu/dist/linux-x64/dawn.node
echo '{"type":"module"}' > /tmp/run/package.json
cp $G/run.mjs /tmp/run/
for f in $G/mnist/*.gz; do gunzip -c "$f" > /tmp/mnist/$(basename "$f" .gz); done
export SHRINKRAY_MNIST_DIR=/tmp/mnist
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee $OUT/gpu.txt
# Dawn finds no NVIDIA Vulkan driver in the default places on some images.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f $icd ] && export VK_DRIVER_FILES=$icd
cat $icd 2>/dev/null | head -8
export VK_LOADER_DEBUG=error
# Dawn's notes about the backends it could not use go to raw.log; the console gets the rest.
quiet() { tee -a $OUT/raw.log | grep --line-buffered -v -E '^Warning|XDG_RUNTIME_DIR|While initializing|While trying|at InitializeImpl|at Check|at Initialize|^$'; }
(cd /tmp/run && DEVICE_PARTS=${1:-check,gemm,train,quality} timeout 240 /tmp/node run.mjs) 2>&1 | quiet | tee $OUT/shrinkray.log
[ "${SKIP_TORCH:-}" = 1 ] || timeout 80 python3 bench/device/torch_peer.py 2>&1 | tee $OUT/torch.log
# The CLI's default run and the ablation benchmark (NAIVE_EVERY=1: the whole naive loop).
if [ "${CLI:-}" = 1 ]; then
  (cd /tmp/run && DEVICE_PARTS=cli DEVICE_REPORT=/tmp/report timeout 300 /tmp/node run.mjs) 2>&1 | quiet | tee $OUT/cli.log
  cp /tmp/report/report.md /tmp/report/report.json $OUT/ 2>/dev/null
  (cd /tmp/run && DEVICE_PARTS=ablate NAIVE_EVERY=1 timeout 200 /tmp/node run.mjs) 2>&1 | quiet | tee -a $OUT/cli.log
fi
[ "${SKIP_DISTILL:-}" = 1 ] && exit 0
# Distillation with a teacher trained longer than a CPU allows (bench/distill-quality.ts).
(cd /tmp/run && DEVICE_PARTS=distill TEACHER_EPOCHS=30 STUDENT_EPOCHS=20 timeout 130 /tmp/node run.mjs) 2>&1 | quiet | tee $OUT/distill.log
(cd /tmp/run && DEVICE_PARTS=distill TEACHER_EPOCHS=30 STUDENT_EPOCHS=20 ALPHA=0.5 TEMPERATURE=2.5 timeout 100 /tmp/node run.mjs) 2>&1 | quiet | tee -a $OUT/distill.log
