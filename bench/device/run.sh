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
# onnxruntime-node (CPU) for the inference benchmark's peer, and the model files it times.
[ -f $G/ort.tar.xz ] && tar -xJf $G/ort.tar.xz -C /tmp/run/node_modules
[ -d $G/report ] && export INFER_MODELS=$PWD/$G/report
# Each part in its own process and time limit (PART_SECONDS, default 120), so one that hangs or
# fails leaves the others' figures; the check comes first and its failure stops the run.
# 'cli' (the CLI's default run, CLI_SECONDS, default 300) writes its report to $OUT/report.
for part in $(echo "${1:-check,gemm,train,quality}" | tr , ' '); do
  echo "=== $part ($(date -u +%T))" | tee -a $OUT/shrinkray.log
  limit=${PART_SECONDS:-120}; [ "$part" = cli ] && limit=${CLI_SECONDS:-300}
  (cd /tmp/run && DEVICE_PARTS=$part DEVICE_REPORT=$OUT/report timeout $limit /tmp/node run.mjs) 2>&1 | quiet | tee -a $OUT/shrinkray.log
  status=${PIPESTATUS[0]}
  [ "$part" = check ] && [ "$status" != 0 ] && exit 1
done
rm -rf $OUT/report/models # the figures are in report.json and report.md; the files stay there
[ "${SKIP_TORCH:-}" = 1 ] || timeout 80 python3 bench/device/torch_peer.py 2>&1 | tee $OUT/torch.log
# The ablation benchmark with the whole naive loop (NAIVE_EVERY=1).
if [ "${ABLATE:-}" = 1 ]; then
  (cd /tmp/run && DEVICE_PARTS=ablate NAIVE_EVERY=1 timeout 200 /tmp/node run.mjs) 2>&1 | quiet | tee -a $OUT/cli.log
fi
[ "${SKIP_DISTILL:-}" = 1 ] && exit 0
# Distillation with a teacher trained longer than a CPU allows (bench/distill-quality.ts).
(cd /tmp/run && DEVICE_PARTS=distill TEACHER_EPOCHS=30 STUDENT_EPOCHS=20 timeout 130 /tmp/node run.mjs) 2>&1 | quiet | tee $OUT/distill.log
(cd /tmp/run && DEVICE_PARTS=distill TEACHER_EPOCHS=30 STUDENT_EPOCHS=20 ALPHA=0.5 TEMPERATURE=2.5 timeout 100 /tmp/node run.mjs) 2>&1 | quiet | tee -a $OUT/distill.log
