"""PyTorch (CUDA) on the same GPU as bench/device/entry.ts: the native ceiling WebGPU is compared to.

fp32 GEMM GFLOP/s for the same shapes as bench/gemm.bench.ts (TF32 off, so it is the same
arithmetic), and LeNet-300-100 training samples/s at batch 128 with SGD 0.1, the training set
resident on the GPU and each batch gathered there, as shrinkray does. Reads MNIST from
SHRINKRAY_MNIST_DIR.
"""
import os
import time

import numpy as np
import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda")
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")


def idx(path):
    raw = open(path, "rb").read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def timed(fn, reps):
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


shapes = [(f"square {n}", n, n, n, False, False) for n in (256, 512, 1024)]
widths = [784, 300, 100, 10]
for l in range(3):
    i, o = widths[l], widths[l + 1]
    shapes += [(f"L{l+1} forward", 128, o, i, False, False), (f"L{l+1} grad W", i, o, 128, True, False), (f"L{l+1} grad X", 128, i, o, False, True)]
print("GEMM fp32 (TF32 off), GFLOP/s")
for name, M, N, K, ta, tb in shapes:
    a = torch.rand(K, M, device=dev).t() if ta else torch.rand(M, K, device=dev)
    b = torch.rand(N, K, device=dev).t() if tb else torch.rand(K, N, device=dev)
    reps = max(1, min(200, round(1e9 / (2 * M * N * K))))
    sec = timed(lambda: torch.mm(a, b), reps)
    print(f"{name:24s} {M}x{N}x{K:<8d} {2 * M * N * K / sec / 1e9:10.1f}")

d = os.environ["SHRINKRAY_MNIST_DIR"]
x = torch.tensor(idx(f"{d}/train-images-idx3-ubyte").reshape(-1, 784), device=dev).float() / 255
y = torch.tensor(idx(f"{d}/train-labels-idx1-ubyte").astype(np.int64), device=dev)
xt = torch.tensor(idx(f"{d}/t10k-images-idx3-ubyte").reshape(-1, 784), device=dev).float() / 255
yt = torch.tensor(idx(f"{d}/t10k-labels-idx1-ubyte").astype(np.int64), device=dev)
torch.manual_seed(1)
model = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10)).to(dev)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
order = torch.randperm(60000, device=dev)
steps = 200


def train(n):
    for s in range(n):
        rows = order[(s * 128) % 59904: (s * 128) % 59904 + 128]
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x[rows]), y[rows]).backward()
        opt.step()


sec = timed(lambda: train(steps), 1)
print(f"LeNet-300-100 training, batch 128, SGD 0.1: {steps * 128 / sec:.0f} samples/s (eager PyTorch, best of 3 x {steps} steps)")
with torch.no_grad():
    acc = (model(xt).argmax(1) == yt).float().mean().item()
print(f"(test accuracy after {4 * steps + steps} steps: {acc * 100:.2f} %)")
