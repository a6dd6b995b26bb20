#!/usr/bin/env python3
"""ResNet-20 (CIFAR layout, option-A shortcuts) in PyTorch, to compare ember with (same machine).

    /usr/bin/python3 bench/torch_resnet.py                  # training step and conv2d shapes, 2 threads
    /usr/bin/python3 bench/torch_resnet.py --only step      # the training step only (for peak RSS)
    /usr/bin/python3 bench/torch_resnet.py --only conv --threads 1

The same work as bench/bench_resnet.cpp:
- step: forward, cross-entropy, backward, SGD (lr 0.1, momentum 0.9, weight decay 1e-4) on a fixed
  batch of 128 random images [128, 3, 32, 32] of ResNet-20 as layers/resnet.h builds it
  (make_model("resnet20", 10, 3, Shortcut::A)): conv 3x3 16, bn, relu; three layers of three
  basic blocks (16, 32, 64 channels; the first block of layers 2 and 3 has stride 2 and the
  option-A shortcut x[:, :, ::2, ::2] with zero channels appended); global average pool; fc 64->10.
  Convolutions without bias, kaiming_normal_ (fan_out) as ember initialises them.
- conv: one conv2d (3x3, padding 1, no bias) forward and backward with a fixed output gradient, at
  each of ResNet-20's shapes; the input needs a gradient except for the stem's.
After a warm-up, each of --repetitions repetitions runs for --min-time seconds; the script prints
every repetition and their median (images/s for the step, ms per call for the convolutions).

Needs Debian's python3-torch (/usr/bin/python3). It prints which BLAS PyTorch loaded and whether
it has oneDNN (its convolutions run there).
"""
import argparse
import os
import re
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default %(default)s)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--min-time", type=float, default=2.0, help="seconds per repetition (default %(default)s)")
    p.add_argument("--repetitions", type=int, default=3)
    p.add_argument("--only", choices=("step", "conv"), default=None, help="run only the step or only the convs")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


if __name__ == "__main__":  # bench/compare_pytorch.py imports ResNet20 from here and sets threads itself
    ARGS = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import torch  # noqa: E402  (after the thread variables: OpenBLAS reads them when it loads)
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


class ZeroPadShortcut(nn.Module):
    """Option A: every stride-th pixel of x, then zero channels appended up to out_channels."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.extra, self.stride = out_channels - in_channels, stride

    def forward(self, x):
        # ember's avg_pool2d(x, 1, stride) followed by concat with zeros
        x = F.avg_pool2d(x, 1, self.stride) if self.stride != 1 else x
        if self.extra == 0:
            return x
        zeros = torch.zeros(x.size(0), self.extra, x.size(2), x.size(3), dtype=x.dtype)
        return torch.cat([x, zeros], 1)


class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        reshapes = stride != 1 or in_channels != out_channels
        self.shortcut = ZeroPadShortcut(in_channels, out_channels, stride) if reshapes else nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, num_classes=10, widths=(16, 32, 64), blocks=(3, 3, 3)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, channels = [], widths[0]
        for k, (width, n) in enumerate(zip(widths, blocks)):
            layer = []
            for b in range(n):
                layer.append(ResidualBlock(channels, width, 2 if k > 0 and b == 0 else 1))
                channels = width
            layers.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def timed(step, per_call_unit):
    """Runs step() for --min-time seconds, --repetitions times, after a warm-up; per-repetition rates."""
    warm_end = time.perf_counter() + 1.0
    step()
    step()
    while time.perf_counter() < warm_end:
        step()
    results = []
    for _ in range(ARGS.repetitions):
        calls, start = 0, time.perf_counter()
        while True:
            step()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= ARGS.min_time:
                break
        results.append(per_call_unit(elapsed / calls))
    return results


def train_step_speed():
    torch.manual_seed(ARGS.seed)
    model = ResNet20()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    images = torch.randn(ARGS.batch, 3, 32, 32)
    labels = torch.randint(0, 10, (ARGS.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        opt.step()

    rates = timed(step, lambda seconds: ARGS.batch / seconds)
    median = statistics.median(rates)
    print("torch_resnet20_train_step_b%d  threads %d  %7.1f images/s  (%.1f ms/step; repetitions %s)" % (
        ARGS.batch, ARGS.threads, median, 1000 * ARGS.batch / median, ", ".join("%.1f" % r for r in rates)),
        flush=True)


# (C, size, K, stride), as bench/bench_resnet.cpp names them: N128_C{C}_{size}x{size}_K{K}_s{stride}
CONV_SHAPES = [(3, 32, 16, 1), (16, 32, 16, 1), (16, 32, 32, 2), (32, 16, 32, 1), (32, 16, 64, 2), (64, 8, 64, 1)]


def conv_speed(C, size, K, stride):
    torch.manual_seed(ARGS.seed)
    N = ARGS.batch
    x = torch.randn(N, C, size, size, requires_grad=C != 3)
    w = (torch.randn(K, C, 3, 3) * 0.1).requires_grad_()
    out = (size - 1) // stride + 1
    grad_y = torch.randn(N, K, out, out)

    def once():
        F.conv2d(x, w, None, stride, 1).backward(grad_y)
        x.grad, w.grad = None, None

    times = timed(once, lambda seconds: 1000 * seconds)
    print("torch_resnet_conv_fwdbwd_N%d_C%d_%dx%d_K%d_s%d  threads %d  %8.3f ms  (repetitions %s)" % (
        N, C, size, size, K, stride, ARGS.threads, statistics.median(times), ", ".join("%.3f" % t for t in times)),
        flush=True)


def describe_torch():
    show = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", show)
    dnnl = "oneDNN" if ("MKL-DNN" in show or "oneDNN" in show) else "no oneDNN"
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    blas = set()
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and "blas" in os.path.basename(fields[-1]).lower():
                blas.add(fields[-1])
    return "torch %s, %d thread(s), BLAS_INFO=%s, %s (mkldnn enabled: %s), BLAS loaded: %s" % (
        torch.__version__, torch.get_num_threads(), m.group(1) if m else "?", dnnl,
        torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled, "; ".join(sorted(blas)) or "none")


def main():
    torch.set_num_threads(ARGS.threads)
    print(describe_torch(), flush=True)
    if ARGS.only in (None, "step"):
        train_step_speed()
    if ARGS.only in (None, "conv"):
        for shape in CONV_SHAPES:
            conv_speed(*shape)


if __name__ == "__main__":
    sys.exit(main())
