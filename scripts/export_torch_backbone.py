#!/usr/bin/env python3
"""Export a PyTorch ResNet-18 as a safetensors file that ember loads by name.

Run it where PyTorch is installed (Debian: apt-get install python3-torch; or pip install torch):

    python3 scripts/export_torch_backbone.py [--out data/torch/resnet18.safetensors] [--random]
        With torchvision: torchvision.models.resnet18 with its ImageNet weights
        (ResNet18_Weights.IMAGENET1K_V1, downloaded by torchvision into its cache; needs internet
        once). --random, or no torchvision: the same architecture built below from torch.nn itself,
        with torchvision's initialisation seeded by --seed - RANDOM weights, useful to check the
        file format and the names, not for transfer learning (the script says so when it does this).

    python3 scripts/export_torch_backbone.py --fixture [--out-dir tests/data/torch]
        The test fixture: a ResNet-18-layout network with narrow widths (4, 8, 16, 32 channels instead
        of 64 ... 512; 10 classes), seeded, with random batch-norm statistics so that eval mode is not
        the identity, written to resnet18_tiny.safetensors (~190 KB), and beside it
        resnet18_tiny.json: the forward output (eval mode, computed in float64) of a fixed input
        given by a formula, so that the C++ test (tests/test_cifar_torch_fixture.cpp) can rebuild the
        input and compare. Always built from torch.nn here (torchvision has no narrow ResNet-18).

In ember the matching model is

    make_model("resnet18", num_classes, 3, Shortcut::B)               (--out)
    ResNet({Stem::ImageNet, {4, 8, 16, 32}, {2, 2, 2, 2}, Shortcut::B, 10, 3})   (--fixture)

and model.load_state_dict(file) checks every name, shape and dtype (layers/resnet.h).

The names are torchvision's state dict: conv1.weight, bn1.{weight,bias,running_mean,running_var,
num_batches_tracked}, layer1.0.conv1.weight, ..., layer2.0.downsample.0.weight,
layer2.0.downsample.1.*, ..., fc.weight, fc.bias. Tensors are written as F32 (parameters and
running statistics) and I64 (num_batches_tracked, shape []).

The safetensors format, written here by hand (the `safetensors` package is used instead when it is
installed): 8 bytes little-endian header length N, N bytes of JSON header padded with spaces to a
multiple of 8, then the tensors' bytes back to back (little-endian, row-major):
    {"__metadata__": {...}, "conv1.weight": {"dtype": "F32", "shape": [64, 3, 7, 7],
     "data_offsets": [0, 37632]}, ...}
"""
import argparse
import json
import math
import os
import struct
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:
    sys.exit("export_torch_backbone.py: PyTorch is not installed here (Debian: apt-get install python3-torch; "
             "or pip install torch). Run this script where it is.")

FIXTURE_WIDTHS = (4, 8, 16, 32)
FIXTURE_CLASSES = 10
FIXTURE_INPUT_SHAPE = (2, 3, 32, 32)
# The fixture's input, element i (row-major over FIXTURE_INPUT_SHAPE) = sin(0.1 * i + 1) in float64:
# the C++ test computes the same numbers.
FIXTURE_INPUT_FORMULA = "x.flat[i] = sin(0.1 * i + 1.0), i = 0 .. numel - 1 in row-major order, computed in float64"


# ---- ResNet-18 from torch.nn, with torchvision's layout and names ----------------------------------
class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                            nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class ResNet18(nn.Module):
    def __init__(self, widths=(64, 128, 256, 512), num_classes=1000, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        channels = widths[0]
        for k, width in enumerate(widths):
            stride = 1 if k == 0 else 2
            layer = nn.Sequential(BasicBlock(channels, width, stride), BasicBlock(width, width, 1))
            setattr(self, "layer%d" % (k + 1), layer)
            channels = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        # torchvision's initialisation
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---- safetensors -----------------------------------------------------------------------------------
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if sys.byteorder != "little":
        sys.exit("export_torch_backbone.py: writing safetensors by hand needs a little-endian machine")
    return t.numpy().tobytes()


def save_safetensors(path, state, metadata):
    tensors = [(name, t.detach().cpu().contiguous()) for name, t in state.items()]
    for name, t in tensors:
        if t.dtype not in DTYPES:
            sys.exit("export_torch_backbone.py: %s has dtype %s; only float32, float64 and int64 are written"
                     % (name, t.dtype))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        from safetensors.torch import save_file  # the reference writer, when installed
        save_file(dict(tensors), path, metadata=metadata)
        return "the safetensors package"
    except ImportError:
        pass
    header = {"__metadata__": metadata} if metadata else {}
    blobs, offset = [], 0
    for name, t in tensors:
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header_json = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_json += b" " * ((8 - len(header_json) % 8) % 8)  # the data section starts 8-aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header_json)))
        f.write(header_json)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)
    return "struct + json (written by hand)"


# ---- the two modes ---------------------------------------------------------------------------------
def export_full(args):
    source = None
    if not args.random:
        try:
            import torchvision
            weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
            model = torchvision.models.resnet18(weights=weights)
            source = "torchvision %s resnet18, weights %s" % (torchvision.__version__, weights)
        except ImportError:
            print("export_torch_backbone.py: torchvision is not installed, so there are no pretrained weights here.\n"
                  "  Writing a ResNet-18 with RANDOM weights (seed %d) instead: the file format and the names are\n"
                  "  right, but it is no use for transfer learning. Install torchvision (pip install torchvision)\n"
                  "  and run this again for the ImageNet weights." % args.seed, file=sys.stderr)
    if source is None:
        torch.manual_seed(args.seed)
        model = ResNet18(num_classes=args.num_classes)
        source = "torch.nn ResNet-18 (torchvision's layout) with random weights, seed %d" % args.seed
    model.eval()
    metadata = {"architecture": "resnet18", "source": source, "torch_version": torch.__version__,
                "num_classes": str(model.fc.out_features),
                "made_with": "python3 scripts/export_torch_backbone.py" + (" --random" if args.random else "")}
    writer = save_safetensors(args.out, model.state_dict(), metadata)
    print("wrote %s (%d tensors, %s; %s)" % (args.out, len(model.state_dict()), source, writer))


def fixture_input():
    numel = math.prod(FIXTURE_INPUT_SHAPE)
    i = torch.arange(numel, dtype=torch.float64)
    return torch.sin(0.1 * i + 1.0).reshape(FIXTURE_INPUT_SHAPE)


def export_fixture(args):
    torch.manual_seed(args.seed)
    model = ResNet18(widths=FIXTURE_WIDTHS, num_classes=FIXTURE_CLASSES)
    # batch-norm weights, biases and running statistics away from 1/0, so eval mode is no identity
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(7)
    model.eval()
    # the reference output in float64, from the float32 weights (as stored) and the float64 input
    state = {name: t.clone() for name, t in model.state_dict().items()}
    with torch.no_grad():
        reference = model.double()(fixture_input())
        float32_output = model.float()(fixture_input().float())
    os.makedirs(args.out_dir, exist_ok=True)
    tensors_path = os.path.join(args.out_dir, "resnet18_tiny.safetensors")
    metadata = {"architecture": "resnet18 layout, widths %s" % list(FIXTURE_WIDTHS),
                "num_classes": str(FIXTURE_CLASSES), "seed": str(args.seed), "torch_version": torch.__version__,
                "made_with": "python3 scripts/export_torch_backbone.py --fixture"}
    writer = save_safetensors(tensors_path, state, metadata)
    numbers = {
        "about": "forward output of resnet18_tiny.safetensors in eval mode, for tests/test_cifar_torch_fixture.cpp",
        "made_with": "python3 scripts/export_torch_backbone.py --fixture --seed %d" % args.seed,
        "torch_version": torch.__version__,
        "widths": list(FIXTURE_WIDTHS),
        "num_classes": FIXTURE_CLASSES,
        "input_shape": list(FIXTURE_INPUT_SHAPE),
        "input_formula": FIXTURE_INPUT_FORMULA,
        "output_float64": [[float(v) for v in row] for row in reference.tolist()],
        "output_float32": [[float(v) for v in row] for row in float32_output.tolist()],
    }
    json_path = os.path.join(args.out_dir, "resnet18_tiny.json")
    with open(json_path, "w") as f:
        json.dump(numbers, f, indent=1)
        f.write("\n")
    print("wrote %s (%d tensors, %d bytes; %s) and %s" % (tensors_path, len(state), os.path.getsize(tensors_path),
                                                        writer, json_path))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixture", action="store_true", help="write the small test fixture and its numbers")
    parser.add_argument("--out", default="data/torch/resnet18.safetensors", help="the file to write (full export)")
    parser.add_argument("--out-dir", default="tests/data/torch", help="the folder of the fixture (--fixture)")
    parser.add_argument("--random", action="store_true", help="random weights even where torchvision is installed")
    parser.add_argument("--num-classes", type=int, default=1000, help="fc's outputs for --random (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed for random weights")
    args = parser.parse_args()
    if args.fixture:
        export_fixture(args)
    else:
        export_full(args)


if __name__ == "__main__":
    main()
