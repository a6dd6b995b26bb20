#!/usr/bin/env python3
"""ember next to PyTorch: the same computations, timed on the same machine, in one table.

    python3 bench/compare_pytorch.py --build build                # plain table
    python3 bench/compare_pytorch.py --build build --markdown     # the table for docs/benchmarks.md
    python3 bench/compare_pytorch.py --build build --csv
    python3 bench/compare_pytorch.py --build build --only matmul  # rows whose name matches a regex
    python3 bench/compare_pytorch.py --list                       # the rows it knows

Our side: each Google Benchmark program <build>/bin/bench_* is run once with
--benchmark_format=json, filtered to the names below; a benchmark that takes a "threads:N" argument
runs with N = --threads. Each of --repetitions repetitions gives Google Benchmark's wall-clock time
per iteration; the table shows their median (or, with --stat min, the fastest).

PyTorch's side: the same shapes and the same work (forward only, or forward + backward, as the
benchmark's name says), with torch.set_num_threads(--threads); after a warm-up, each repetition
calls the function enough times to run for --min-time seconds, and gives the time per call; the
table shows the median (or the fastest) of --repetitions repetitions, as for ours.

To add a row: append a Row(binary, name, setup) to ROWS, where setup() builds the inputs once and
returns a function with no arguments that does one iteration of the same work in PyTorch.
"""
import argparse
import glob
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

DEBIAN_PYTHON = "/usr/bin/python3"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default="build", help="the CMake build folder with bin/bench_* (default: build)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for both sides (default: all cores, %(default)s here)")
    p.add_argument("--repetitions", type=int, default=3, help="timed repetitions per benchmark (default 3)")
    p.add_argument("--min-time", type=float, default=0.3,
                   help="seconds each repetition runs at least, on both sides (default 0.3)")
    p.add_argument("--stat", choices=("median", "min"), default="median",
                   help="which repetition to report on both sides: the median (default) or the fastest, "
                        "which is steadier on a busy machine")
    p.add_argument("--only", default=None, help="a regular expression: keep the rows whose name matches")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    fmt.add_argument("--csv", action="store_true", help="print the table as CSV")
    p.add_argument("--list", action="store_true", help="list the known rows and exit")
    return p.parse_args()


ARGS = parse_args()

# PyTorch and the OpenBLAS inside it read these when they load: set them before importing torch.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    # Debian's python3-torch lives in the system Python; a pyenv or venv python3 does not see it.
    if os.path.exists(DEBIAN_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON):
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)
    sys.exit("PyTorch is not installed for %s: apt-get install python3-torch" % sys.executable)


# ---- the rows ------------------------------------------------------------------------------------

@dataclass
class Row:
    binary: str                      # our Google Benchmark program, in <build>/bin
    name: str                        # the benchmark's name there (without "/threads:N")
    setup: Callable[[], Callable[[], None]]  # builds PyTorch inputs, returns one iteration of the work


def randn(*shape, grad=False):
    return torch.randn(*shape, dtype=torch.float32).requires_grad_(grad)


def no_grad(fn):
    def run():
        with torch.no_grad():
            fn()
    return run


def clear_grads(*tensors):
    for t in tensors:
        t.grad = None


def mm(M, K, N):
    def setup():
        a, b = randn(M, K), randn(K, N)
        return no_grad(lambda: torch.mm(a, b))
    return setup


def linear_fwd(rows, n_in, n_out):
    def setup():
        x, w, b = randn(rows, n_in), randn(n_out, n_in), randn(n_out)
        return no_grad(lambda: F.linear(x, w, b))
    return setup


def linear_fwdbwd(rows, n_in, n_out):
    def setup():
        x, w, b = randn(rows, n_in, grad=True), randn(n_out, n_in, grad=True), randn(n_out, grad=True)
        ones = torch.ones(rows, n_out)

        def run():
            F.linear(x, w, b).backward(ones)
            clear_grads(x, w, b)
        return run
    return setup


def elementwise(op, n):
    def setup():
        a, b = randn(n), randn(n)
        return no_grad(lambda: op(a, b))
    return setup


def total(n):
    def setup():
        a = randn(n)
        return no_grad(lambda: torch.sum(a))
    return setup


def conv(C, K, backward, input_grad=True):
    def setup():
        x = randn(64, C, 32, 32, grad=backward and input_grad)
        w = (randn(K, C, 3, 3) * 0.1).requires_grad_(backward)
        b = randn(K, grad=backward)
        if not backward:
            return no_grad(lambda: F.conv2d(x, w, b, padding=1))
        ones = torch.ones(64, K, 32, 32)

        def run():
            F.conv2d(x, w, b, padding=1).backward(ones)
            clear_grads(x, w, b)
        return run
    return setup


def maxpool_fwdbwd():
    def setup():
        x = randn(64, 32, 28, 28, grad=True)
        ones = torch.ones(64, 32, 14, 14)

        def run():
            F.max_pool2d(x, 2).backward(ones)
            clear_grads(x)
        return run
    return setup


def batchnorm_fwdbwd():
    def setup():
        x = randn(64, 64, 32, 32, grad=True)
        w, b = torch.ones(64, requires_grad=True), torch.zeros(64, requires_grad=True)
        running_mean, running_var = torch.zeros(64), torch.ones(64)
        ones = torch.ones(64, 64, 32, 32)

        def run():
            F.batch_norm(x, running_mean, running_var, w, b, training=True).backward(ones)
            clear_grads(x, w, b)
        return run
    return setup


def softmax_fwd(rows, classes):
    def setup():
        x = randn(rows, classes)
        return no_grad(lambda: torch.softmax(x, -1))
    return setup


def cross_entropy_fwdbwd(rows, classes):
    # ours calls the loss node's backward directly; torch.autograd.grad likewise leaves .grad alone
    def setup():
        logits = randn(rows, classes, grad=True)
        target = torch.randint(0, classes, (rows,))
        return lambda: torch.autograd.grad(F.cross_entropy(logits, target), logits)
    return setup


def relu_fwd(n):
    def setup():
        x = randn(n)
        return no_grad(lambda: torch.relu(x))
    return setup


def attention(B, H, T, D, backward, causal=True, dropout=0.2):
    # what nanoGPT does without a fused kernel (PyTorch 1.13 has none): softmax(q k^T / sqrt(D)) v,
    # the future masked out, dropout on the attention weights in training
    def setup():
        q, k, v = (randn(B, H, T, D, grad=True) for _ in range(3))
        grad_out = randn(B, H, T, D)
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)

        def forward():
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
            if causal:
                att = att.masked_fill(future, float("-inf"))
            att = F.dropout(torch.softmax(att, dim=-1), p=dropout, training=True)
            return att @ v

        def run():
            out = forward()
            if backward:
                out.backward(grad_out)
                clear_grads(q, k, v)
        return run
    return setup


def layer_norm(rows, D, backward):
    def setup():
        x = randn(rows, D, grad=True)
        w, b = torch.ones(D, requires_grad=True), torch.zeros(D, requires_grad=True)
        grad_out = randn(rows, D)

        def run():
            y = F.layer_norm(x, (D,), w, b)
            if backward:
                y.backward(grad_out)
                clear_grads(x, w, b)
        return run
    return setup


def resnet_conv_fwdbwd(C, size, K, stride, N=128):
    # one convolution of ResNet-20, no bias, a fixed output gradient (bench/bench_resnet.cpp)
    def setup():
        x = randn(N, C, size, size, grad=C != 3)  # the stem's input is the images
        w = (randn(K, C, 3, 3) * 0.1).requires_grad_()
        out = (size - 1) // stride + 1
        grad_y = randn(N, K, out, out)

        def run():
            F.conv2d(x, w, None, stride, 1).backward(grad_y)
            clear_grads(x, w)
        return run
    return setup


def resnet20_train_step(N=128):
    # forward, cross-entropy, backward, SGD momentum step: the model from bench/torch_resnet.py
    def setup():
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from torch_resnet import ResNet20
        model = ResNet20()
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        images, labels = randn(N, 3, 32, 32), torch.randint(0, 10, (N,))

        def run():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(images), labels).backward()
            opt.step()
        return run
    return setup


M16 = 16 << 20
ROWS: List[Row] = [
    # bench_ops: the engine's matmul and a raw cblas_sgemm on the same buffers, against torch.mm
    Row("bench_ops", "matmul_engine_1024", mm(1024, 1024, 1024)),
    Row("bench_ops", "sgemm_raw_1024", mm(1024, 1024, 1024)),
    Row("bench_ops", "matmul_engine_768x128x384", mm(768, 128, 384)),
    Row("bench_ops", "sgemm_raw_768x128x384", mm(768, 128, 384)),
    Row("bench_ops", "matmul_engine_16384x192x576", mm(16384, 192, 576)),
    Row("bench_ops", "sgemm_raw_16384x192x576", mm(16384, 192, 576)),
    Row("bench_ops", "linear_engine_fwd_64x3136x128", linear_fwd(64, 3136, 128)),
    Row("bench_ops", "sgemm_raw_fwd_64x3136x128", linear_fwd(64, 3136, 128)),
    Row("bench_ops", "linear_engine_fwdbwd_64x3136x128", linear_fwdbwd(64, 3136, 128)),
    Row("bench_ops", "sgemm_raw_fwdbwd_64x3136x128", linear_fwdbwd(64, 3136, 128)),
    Row("bench_ops", "add_16M", elementwise(torch.add, M16)),
    Row("bench_ops", "mul_16M", elementwise(torch.mul, M16)),
    Row("bench_ops", "sum_16M", total(M16)),
    # bench_conv
    Row("bench_conv", "conv2d_fwd_N64_C64_32x32_K64_3x3", conv(64, 64, backward=False)),
    Row("bench_conv", "conv2d_fwdbwd_N64_C64_32x32_K64_3x3", conv(64, 64, backward=True)),
    Row("bench_conv", "conv2d_fwd_N64_C3_32x32_K16_3x3", conv(3, 16, backward=False)),
    Row("bench_conv", "conv2d_fwdbwd_N64_C3_32x32_K16_3x3", conv(3, 16, backward=True, input_grad=False)),
    Row("bench_conv", "maxpool2d_fwdbwd_N64_C32_28x28", maxpool_fwdbwd()),
    Row("bench_conv", "batchnorm2d_fwdbwd_N64_C64_32x32", batchnorm_fwdbwd()),
    # bench_softmax
    Row("bench_softmax", "softmax_fwd_4096x1000", softmax_fwd(4096, 1000)),
    Row("bench_softmax", "cross_entropy_fwdbwd_4096x1000", cross_entropy_fwdbwd(4096, 1000)),
    Row("bench_softmax", "relu_fwd_16M", relu_fwd(M16)),
    # bench_attention: causal, dropout 0.2 in training, as in the course's GPT
    Row("bench_attention", "attention_fwdbwd_B12_H4_T64_D32", attention(12, 4, 64, 32, backward=True)),
    Row("bench_attention", "attention_fwdbwd_B64_H3_T256_D64", attention(64, 3, 256, 64, backward=True)),
    Row("bench_attention", "layer_norm_fwdbwd_768x128", layer_norm(768, 128, backward=True)),
    Row("bench_attention", "layer_norm_fwdbwd_16384x192", layer_norm(16384, 192, backward=True)),
    # bench_resnet: ResNet-20's training step (batch 128) and its convolutions
    Row("bench_resnet", "resnet20_train_step_b128", resnet20_train_step()),
    Row("bench_resnet", "resnet_conv_fwdbwd_N128_C3_32x32_K16_s1", resnet_conv_fwdbwd(3, 32, 16, 1)),
    Row("bench_resnet", "resnet_conv_fwdbwd_N128_C16_32x32_K16_s1", resnet_conv_fwdbwd(16, 32, 16, 1)),
    Row("bench_resnet", "resnet_conv_fwdbwd_N128_C16_32x32_K32_s2", resnet_conv_fwdbwd(16, 32, 32, 2)),
    Row("bench_resnet", "resnet_conv_fwdbwd_N128_C32_16x16_K32_s1", resnet_conv_fwdbwd(32, 16, 32, 1)),
    Row("bench_resnet", "resnet_conv_fwdbwd_N128_C32_16x16_K64_s2", resnet_conv_fwdbwd(32, 16, 64, 2)),
    Row("bench_resnet", "resnet_conv_fwdbwd_N128_C64_8x8_K64_s1", resnet_conv_fwdbwd(64, 8, 64, 1)),
]


# ---- our side: Google Benchmark JSON -------------------------------------------------------------

TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def split_name(run_name: str):
    """'matmul_engine_1024/threads:2/real_time' -> ('matmul_engine_1024', {'threads': '2'})."""
    parts = run_name.split("/")
    params = {}
    for part in parts[1:]:
        if ":" in part:
            key, value = part.split(":", 1)
            params[key] = value
    return parts[0], params


def bench_env():
    # our programs set their own thread counts; leave them the machine's defaults
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(var, None)
    return env


def list_benchmarks(path: str) -> List[str]:
    out = subprocess.run([path, "--benchmark_list_tests=true"], capture_output=True, text=True, env=bench_env())
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip() or "exit code %d" % out.returncode)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def run_ours(path: str, names: List[str], threads: int) -> Dict[str, dict]:
    """Runs the named benchmarks of one program; returns {name: {'ms': median, 'threads': N or None}}."""
    available = {}
    for full in list_benchmarks(path):
        base, params = split_name(full)
        available.setdefault(base, set()).add(params.get("threads"))
    wanted = [n for n in names if n in available]
    if not wanted:
        return {}
    # the variant with our thread count where the benchmark has one
    pattern = "^(%s)(/threads:%d)?(/real_time)?$" % ("|".join(re.escape(n) for n in wanted), threads)
    cmd = [path, "--benchmark_filter=" + pattern, "--benchmark_format=json",
           "--benchmark_repetitions=%d" % ARGS.repetitions, "--benchmark_min_time=%g" % ARGS.min_time]
    out = subprocess.run(cmd, capture_output=True, text=True, env=bench_env())
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip() or "exit code %d" % out.returncode)
    times: Dict[str, List[float]] = {}
    threads_of: Dict[str, Optional[int]] = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        # one entry per repetition; the aggregates (mean, median, ...) are computed here instead
        if b.get("error_occurred") or b.get("run_type", "iteration") != "iteration":
            continue
        base, params = split_name(b.get("run_name", b["name"]))
        times.setdefault(base, []).append(b["real_time"] * TO_MS[b.get("time_unit", "ns")])
        threads_of[base] = int(params["threads"]) if "threads" in params else None
    results = {base: {"ms": summarise(ts), "threads": threads_of[base]} for base, ts in times.items()}
    for n in wanted:
        if n not in results:
            results[n] = {"missing": "no variant for threads=%d" % threads}
    return results


def summarise(times: List[float]) -> float:
    return min(times) if ARGS.stat == "min" else statistics.median(times)


# ---- PyTorch's side ------------------------------------------------------------------------------

def time_torch(setup: Callable[[], Callable[[], None]]) -> float:
    torch.manual_seed(0)
    run = setup()
    # warm-up: first calls allocate, pick kernels, start threads
    start = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - start < 0.1:
        run()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    repeat = max(1, math.ceil(ARGS.min_time / max(per_call, 1e-9)))
    times = []
    for _ in range(ARGS.repetitions):
        t0 = time.perf_counter()
        for _ in range(repeat):
            run()
        times.append((time.perf_counter() - t0) / repeat * 1e3)
    return summarise(times)


# ---- the machine and the BLAS each side uses -----------------------------------------------------

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def busy_warning() -> str:
    try:
        load = float(load_average().split()[0])
    except ValueError:
        return ""
    if load > 1.0:
        return ": WARNING, other programs were using the CPU; the figures are slower and noisier than on an idle machine"
    return ""


def blas_kind(path: str) -> str:
    p = path.lower()
    if "openblas" in p:
        # Debian's folders say how OpenBLAS runs its threads: in OpenMP's pool or in its own
        for build in ("openmp", "pthread", "serial"):
            if "openblas-" + build in p:
                return "OpenBLAS, %s build" % build
        return "OpenBLAS"
    if "mkl" in p:
        return "MKL"
    if "blis" in p:
        return "BLIS"
    if "atlas" in p:
        return "ATLAS"
    if "libblas.so" in p:  # Debian's /usr/lib/<arch>/blas/libblas.so.3
        return "reference BLAS (netlib, unoptimised: about 6 GFLOP/s for sgemm here)"
    return "unknown"


def system_blas() -> str:
    links = sorted(glob.glob("/usr/lib/*-linux-gnu/libblas.so.3"))
    if not links:
        return "no libblas.so.3 found"
    target = os.path.realpath(links[0])
    return "%s -> %s (%s)" % (links[0], target, blas_kind(target))


def torch_loaded_blas() -> str:
    """The BLAS libraries mapped into this process after a torch.mm: what PyTorch really calls."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    found = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path).lower()
                if "blas" in name or "mkl" in name or "blis" in name:
                    found.add(path)
    except OSError:
        return "unknown (no /proc/self/maps)"
    if not found:
        return "none mapped (PyTorch's own BLAS is statically linked, or it has none)"
    return "; ".join("%s (%s)" % (p, blas_kind(p)) for p in sorted(found))


def torch_config_line() -> str:
    show = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", show)
    dnnl = "oneDNN/MKL-DNN" if ("MKL-DNN" in show or "oneDNN" in show) else "no oneDNN"
    return "BLAS_INFO=%s, %s" % (m.group(1) if m else "?", dnnl)


def our_blas(build: str) -> str:
    for prog in sorted(glob.glob(os.path.join(build, "bin", "bench_*"))):
        if shutil.which("ldd") is None:
            break
        out = subprocess.run(["ldd", prog], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "blas" in line:
                path = line.split("=>")[-1].split("(")[0].strip()
                return "%s (%s)" % (os.path.realpath(path), blas_kind(os.path.realpath(path)))
    return "unknown (no bench program built)"


# ---- the table -----------------------------------------------------------------------------------

def fmt_ms(v: Optional[float]) -> str:
    if v is None:
        return "-"
    return "%.3f" % v if v < 10 else "%.1f" % v


def main():
    rows = [r for r in ROWS if ARGS.only is None or re.search(ARGS.only, r.name)]
    if ARGS.list:
        for r in rows:
            print("%-16s %s" % (r.binary, r.name))
        return

    torch.set_num_threads(ARGS.threads)
    build = ARGS.build
    print_heading(build)

    # ours, one run per program
    ours: Dict[str, dict] = {}
    notes: Dict[str, str] = {}
    by_binary: Dict[str, List[str]] = {}
    for r in rows:
        by_binary.setdefault(r.binary, []).append(r.name)
    for binary, names in by_binary.items():
        path = os.path.join(build, "bin", binary)
        if not os.path.exists(path):
            for n in names:
                notes[n] = "%s not built" % binary
            continue
        print("running %s (%d benchmarks) ..." % (binary, len(names)), file=sys.stderr, flush=True)
        try:
            results = run_ours(path, names, ARGS.threads)
        except (RuntimeError, ValueError, KeyError) as e:
            for n in names:
                notes[n] = "%s failed: %s" % (binary, str(e).splitlines()[-1][:60])
            continue
        for n in names:
            if n not in results:
                notes[n] = "not in %s yet" % binary
            elif "missing" in results[n]:
                notes[n] = results[n]["missing"]
            else:
                ours[n] = results[n]

    # PyTorch, for the rows we have a figure for
    table = []
    for r in rows:
        mine = ours.get(r.name)
        theirs = None
        note = notes.get(r.name, "")
        if mine is not None:
            print("torch: %s ..." % r.name, file=sys.stderr, flush=True)
            try:
                theirs = time_torch(r.setup)
            except Exception as e:  # a torch failure must not hide the other rows
                note = "torch failed: %s" % str(e).splitlines()[0][:60]
            if mine["threads"] is None and ARGS.threads != (os.cpu_count() or 1):
                note = (note + "; " if note else "") + "ours on all %d cores (no threads argument)" % os.cpu_count()
        ratio = mine["ms"] / theirs if mine is not None and theirs else None
        table.append((r.name, mine["ms"] if mine else None, theirs, ratio, note))
    print_table(table)


def print_heading(build: str):
    lines = [
        "machine:  %s, %d cores; both sides use %d thread(s)" % (cpu_model(), os.cpu_count() or 1, ARGS.threads),
        "ours:     %s, BLAS %s" % (os.path.abspath(build), our_blas(build)),
        "PyTorch:  %s (%s); system libblas.so.3: %s" % (torch.__version__, torch_config_line(), system_blas()),
        "          BLAS loaded by PyTorch: %s" % torch_loaded_blas(),
        "timing:   %s of %d repetitions of >= %gs each, wall-clock ms per call; ratio = ours / PyTorch"
        % ("fastest" if ARGS.stat == "min" else "median", ARGS.repetitions, ARGS.min_time),
        "load:     %s (load average over 1, 5, 15 minutes when this started)%s" % (
            load_average(), busy_warning()),
    ]
    if ARGS.markdown:
        print("\n".join("- " + re.sub(r"\s+", " ", l).strip() for l in lines))
        print()
    elif ARGS.csv:
        for l in lines:
            print("# " + l)
    else:
        print("\n".join(lines))
        print()


def print_table(table):
    header = ("op", "ours ms", "PyTorch ms", "ours/PyTorch", "note")
    cells = [(n, fmt_ms(a), fmt_ms(b), "%.2fx" % r if r is not None else "-", note) for n, a, b, r, note in table]
    if ARGS.csv:
        import csv
        w = csv.writer(sys.stdout)
        w.writerow(header)
        for n, a, b, r, note in table:
            w.writerow((n, "%.4f" % a if a is not None else "", "%.4f" % b if b is not None else "",
                        "%.3f" % r if r is not None else "", note))
        return
    if ARGS.markdown:
        print("| " + " | ".join(header) + " |")
        print("|---|---:|---:|---:|---|")
        for c in cells:
            print("| `%s` | %s |" % (c[0], " | ".join(c[1:])))
        return
    widths = [max(len(str(c[i])) for c in cells + [header]) for i in range(len(header))]
    print("  ".join(h.ljust(widths[i]) if i in (0, 4) else h.rjust(widths[i]) for i, h in enumerate(header)))
    for c in cells:
        print("  ".join(str(v).ljust(widths[i]) if i in (0, 4) else str(v).rjust(widths[i])
                        for i, v in enumerate(c)).rstrip())


if __name__ == "__main__":
    main()
