#!/usr/bin/env python3
"""The MNIST lesson's models in PyTorch, to compare ember with (same shapes, same machine).

    /usr/bin/python3 bench/torch_mnist.py                   # training-step speed, CNN and MLP
    /usr/bin/python3 bench/torch_mnist.py --threads 1
    /usr/bin/python3 bench/torch_mnist.py --fashion         # + the CNN on Fashion-MNIST, 2 epochs

Speed: one training step = forward, cross-entropy, backward, AdamW update on a batch of 64 random
images [64, 1, 28, 28], as bench/bench_mnist.cpp times it in ember. After a warm-up, each of
--repetitions runs steps for --min-time seconds; the median is reported as images/s.

--fashion trains the CNN as configs/fashion_2epochs.conf does in ember: Fashion-MNIST read from
the IDX files (gzip + numpy), the first 90% of the training files to train on (the last 10% is
ember's validation set, unused here), pixels normalised with the training part's mean and std,
AdamW lr 1e-3 (weight decay 0.01 on weights, none on biases), batch 64, shuffled, no augmentation,
2 epochs; then the accuracy on the 10,000 test images.

The script needs Debian's python3-torch and python3-numpy (/usr/bin/python3).
"""
import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default %(default)s)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--min-time", type=float, default=2.0, help="seconds per repetition")
    p.add_argument("--repetitions", type=int, default=5)
    p.add_argument("--fashion", action="store_true", help="also train the CNN on Fashion-MNIST and test it")
    p.add_argument("--fashion-dir", default=FASHION_DIR)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-speed", action="store_true", help="only the --fashion run")
    return p.parse_args()


def cnn():
    # the same layers as ember's lessons/mnist/model.cpp (--model=cnn, dropout 0.25)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def mlp():
    return nn.Sequential(
        nn.Flatten(), nn.Linear(28 * 28, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
        nn.Dropout(0.25), nn.Linear(128, 10))


def adamw(model, lr=1e-3, weight_decay=0.01):
    # ember's rule: weight decay on tensors of 2 or more dimensions only
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr)


def train_step_speed(name, build, args):
    torch.manual_seed(args.seed)
    model = build()
    model.train()
    opt = adamw(model)
    images = (torch.rand(args.batch, 1, 28, 28) - 0.13) / 0.31
    labels = torch.randint(0, 10, (args.batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        loss.backward()
        opt.step()

    for _ in range(20):  # warm-up: allocations, kernel choice, thread start
        step()
    rates = []
    for _ in range(args.repetitions):
        steps, start = 0, time.perf_counter()
        while True:
            step()
            steps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= args.min_time:
                break
        rates.append(steps * args.batch / elapsed)
    median = statistics.median(rates)
    print("torch_%s_train_step_b%d  threads %d  %8.0f images/s  (%.2f ms/step; repetitions %s)" % (
        name, args.batch, args.threads, median, 1000 * args.batch / median,
        ", ".join("%.0f" % r for r in rates)), flush=True)


def read_idx(path):
    """An IDX file of unsigned bytes (MNIST's format), raw or gzip-compressed, as a numpy array."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit("%s: not an unsigned-byte IDX file" % path)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        sys.exit("%s: expected %d bytes of data, got %d" % (path, int(np.prod(dims)), body.size))
    return body.reshape(dims)


def find(directory, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    sys.exit("no %s(.gz) in %s (apt-get install dataset-fashion-mnist)" % (stem, directory))


def fashion_run(args):
    torch.manual_seed(args.seed)
    load = lambda stem: read_idx(find(args.fashion_dir, stem))
    train_x = torch.from_numpy(load("train-images-idx3-ubyte").astype(np.float32) / 255).unsqueeze(1)
    train_y = torch.from_numpy(load("train-labels-idx1-ubyte").astype(np.int64))
    test_x = torch.from_numpy(load("t10k-images-idx3-ubyte").astype(np.float32) / 255).unsqueeze(1)
    test_y = torch.from_numpy(load("t10k-labels-idx1-ubyte").astype(np.int64))
    n_train = len(train_x) - round(len(train_x) * 0.1)  # the last 10% is ember's validation set
    train_x, train_y = train_x[:n_train], train_y[:n_train]
    mean, std = train_x.mean().item(), train_x.std(unbiased=False).item()
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std

    model = cnn()
    opt = adamw(model)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(n_train)
        total, correct, loss_sum = 0, 0, 0.0
        for b in range(0, n_train, args.batch):
            idx = order[b:b + args.batch]
            x, y = train_x[idx], train_y[idx]
            opt.zero_grad(set_to_none=True)
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            opt.step()
            total += len(y)
            correct += (logits.argmax(1) == y).sum().item()
            loss_sum += loss.item() * len(y)
        print("epoch %d/%d: train loss %.4f acc %.4f  (%.0f s)" % (
            epoch + 1, args.epochs, loss_sum / total, correct / total, time.perf_counter() - start), flush=True)
    train_seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(test_x[b:b + 500]).argmax(1) for b in range(0, len(test_x), 500)])
    accuracy = (predictions == test_y).float().mean().item()
    print("torch fashion cnn: %d epochs, %d train images, %.1f s (%.0f images/s): test accuracy %.4f" % (
        args.epochs, n_train, train_seconds, args.epochs * n_train / train_seconds, accuracy))


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    print("torch %s, %d thread(s), batch %d" % (torch.__version__, torch.get_num_threads(), args.batch), flush=True)
    if not args.skip_speed:
        train_step_speed("cnn", cnn, args)
        train_step_speed("mlp", mlp, args)
    if args.fashion:
        fashion_run(args)


if __name__ == "__main__":
    main()
