#pragma once
// What a CIFAR-10 lesson uses when the CIFAR-10 files are not there (no internet to download them,
// scripts/get_cifar10.sh exits 3): Fashion-MNIST (Debian package dataset-fashion-mnist, photos of
// clothes, 28x28 grey, 10 classes) made to look like CIFAR-10 to the model:
//
//   Fashion-MNIST image [1, 28, 28] -> zero-padded by 2 on every side -> [1, 32, 32]
//                                   -> the grey plane repeated as R, G and B -> [3, 32, 32]
//
// The same network (3 input channels, 32x32) then trains unchanged. It is a different task, with
// different classes ("T-shirt/top" ... "Ankle boot", kept in class_names), so the lesson must say
// loudly that it fell back (cifar10_fallback_notice) and must not compare its scores with CIFAR-10's.
// The padding is 0 because Fashion-MNIST's background is black (0).
//
//   Cifar10Data train = has_cifar10(dir) ? load_cifar10(dir, Split::Train)
//                                        : load_fashion_mnist_as_cifar(Split::Train);
#include <string>

#include "datasets/cifar10.h"
#include "datasets/mnist.h"

namespace ember {

// Whether `dir` holds the six CIFAR-10 binary files (data_batch_1..5.bin, test_batch.bin), each a
// whole number of records: lets a lesson fall back before load_cifar10 would throw.
bool has_cifar10(const std::string& dir);

// images [N, 1, 28, 28] -> [N, 3, 32, 32] as above; labels and class names are kept.
Cifar10Data mnist_as_cifar(const MnistData& data);

// load_fashion_mnist(split, dir) through mnist_as_cifar. Errors are load_fashion_mnist's (they say
// which package to install).
Cifar10Data load_fashion_mnist_as_cifar(Split split, const std::string& dir = kFashionMnistDir);

// The message a lesson prints when it falls back: that CIFAR-10 was not found in `cifar_dir`, how
// to get it (scripts/get_cifar10.sh), and that Fashion-MNIST, a different task, is used instead.
std::string cifar10_fallback_notice(const std::string& cifar_dir);

}  // namespace ember
