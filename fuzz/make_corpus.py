#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/: a few small valid files per format, so the
fuzzer starts from inputs that pass the first checks. Run from anywhere; it rewrites the folder."""
import gzip, json, os, shutil, struct, zlib

here = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    folder = os.path.join(here, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def idx(dims, payload):
    return struct.pack(">I", 0x800 + len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload


def safetensors(entries, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, payload in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def png(width, height, channels, pixels):
    kind = {1: 0, 3: 2, 4: 6}[channels]
    rows = b"".join(b"\0" + pixels[y * width * channels:(y + 1) * width * channels] for y in range(height))
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, kind, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def bmp(width, height):
    row = (width * 3 + 3) // 4 * 4
    pixels = bytes((x * 40 + y * 7) % 256 for y in range(height) for x in range(row))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


for target in ("idx", "cifar10", "safetensors", "config", "text", "image"):
    shutil.rmtree(os.path.join(here, "corpus", target), ignore_errors=True)

# idx: the first byte is the harness's mode (bit 0: gzip the rest; bits 1-2: expected dimensions)
labels = idx([5], bytes([3, 1, 4, 1, 5]))
images = idx([2, 4, 4], bytes(range(32)))
put("idx", "labels_raw", b"\x02" + labels)
put("idx", "labels_gzip_by_harness", b"\x03" + labels)
put("idx", "images_raw", b"\x04" + images)
put("idx", "images_gzip_file", b"\x00" + gzip.compress(images, mtime=0))
put("idx", "two_members", b"\x00" + gzip.compress(images[:10], mtime=0) + gzip.compress(images[10:], mtime=0))

# cifar10: records of 1 label byte + 3072 pixels
put("cifar10", "one_record", bytes([7]) + bytes(i % 256 for i in range(3072)))
put("cifar10", "two_records", bytes([0]) + b"\x10" * 3072 + bytes([9]) + b"\xf0" * 3072)

# safetensors
put("safetensors", "two_tensors", safetensors([("w", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
                                               ("b", "I64", [1], struct.pack("<q", -5))], {"step": "3"}))
put("safetensors", "f64_and_empty", safetensors([("x", "F64", [1], struct.pack("<d", 0.5)),
                                                 ("e", "F32", [0, 3], b"")]))
put("safetensors", "escaped_name", safetensors([("caf\u00e9 \"q\"", "F32", [], struct.pack("<f", 7))]))

# config: the first byte is the harness's mode (0: parse_text, 2: load_file, odd: arguments)
put("config", "text", b"\x00# a run\nepochs = 3\nlr = 1e-3  # small\naugment = true\nmodel = \"cnn\"\n")
put("config", "file_with_bom", b"\x02\xef\xbb\xbfout_dir = 'runs/a b'\nclip = inf\n")
put("config", "arguments", b"\x01--epochs=5\n--lr=0.5\n--augment=false\n--model=resnet")

# text
put("text", "ascii", b"Hello, world.\n%\nA second fortune.\n")
put("text", "utf8", "caf\u00e9 \u2192 \U0001F600 na\u00efve\n".encode())

# image: the first byte is the harness's channel choice (value % 5)
put("image", "grey_png", b"\x00" + png(3, 2, 1, bytes([0, 128, 255, 10, 20, 30])))
put("image", "rgba_png", b"\x03" + png(2, 2, 4, bytes(range(16))))
put("image", "rgb_bmp", b"\x01" + bmp(3, 2))
