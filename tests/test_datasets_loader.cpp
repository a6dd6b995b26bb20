// Dataset, TensorDataset and DataLoader: every example once per epoch, reproducible shuffling and
// augmentation, drop_last, and the background thread (prefetch, exceptions, shutdown).
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>

#include "core/ops.h"
#include "datasets/dataloader.h"
#include "datasets/transforms.h"

using namespace ember;

namespace test_datasets_loader {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// n images [1, 2, 2] whose pixels all equal the example's index, and label = index.
TensorDataset numbered_dataset(int64_t n) {
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < 4; ++p) pixels.push_back(static_cast<float>(i));
    labels.push_back(i);
  }
  return TensorDataset(Tensor::from_vector(pixels, {n, 1, 2, 2}), Tensor::from_vector(labels, {n}));
}

// Every label the loader gives in one epoch, in order, checking each batch on the way.
std::vector<int64_t> one_epoch(DataLoader& loader, std::vector<int64_t>* batch_sizes = nullptr) {
  std::vector<int64_t> labels;
  for (Batch& batch : loader) {
    EXPECT_EQ(batch.images.dtype(), DType::Float32);
    EXPECT_EQ(batch.labels.dtype(), DType::Int64);
    const int64_t b = batch.labels.numel();
    EXPECT_EQ(batch.images.shape(), (Shape{b, 1, 2, 2}));
    // without a transform, image i of the batch is the example of label i
    for (int64_t i = 0; i < b; ++i) EXPECT_EQ(batch.images.at({i, 0, 1, 1}), batch.labels.at({i}));
    if (batch_sizes) batch_sizes->push_back(b);
    for (int64_t label : batch.labels.to_vector<int64_t>()) labels.push_back(label);
  }
  return labels;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text) << "\nexpected: " << (part)

TEST(TensorDataset, GetReturnsOneExampleAndChecksShapes) {
  TensorDataset data = numbered_dataset(5);
  EXPECT_EQ(data.size(), 5);
  Example e = data.get(3);
  EXPECT_EQ(e.image.shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(e.image.at({0, 1, 0}), 3.0);
  EXPECT_EQ(e.label, 3);
  EXPECT_CONTAINS(error_of([&] { data.get(5); }), "TensorDataset: index 5 is out of range for 5 examples");
  EXPECT_CONTAINS(error_of([] {
                    TensorDataset(Tensor::zeros({4, 3}), Tensor::zeros({5}, DType::Int64));
                  }),
                  "TensorDataset: 4 images (shape [4, 3]) but 5 labels (shape [5])");
  EXPECT_CONTAINS(error_of([] {
                    TensorDataset(Tensor::zeros({4, 3}), Tensor::zeros({4}));
                  }),
                  "TensorDataset: labels must be int64 [N], got float32 [4]");
}

TEST(DataLoader, EveryExampleOncePerEpochInBatches) {
  TensorDataset data = numbered_dataset(103);
  DataLoader loader(data, 10, /*shuffle=*/true, /*seed=*/5);
  EXPECT_EQ(loader.num_batches(), 11);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> sizes;
    std::vector<int64_t> labels = one_epoch(loader, &sizes);
    EXPECT_NE(labels, iota(103)) << "shuffled";
    std::sort(labels.begin(), labels.end());
    EXPECT_EQ(labels, iota(103)) << "epoch " << epoch;
    EXPECT_EQ(sizes, (std::vector<int64_t>{10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3}));
  }
  EXPECT_EQ(loader.epoch(), 3);
}

TEST(DataLoader, WithoutShuffleInOrderAndDropLast) {
  TensorDataset data = numbered_dataset(103);
  DataLoader in_order(data, 10);
  EXPECT_EQ(one_epoch(in_order), iota(103));
  DataLoader dropping(data, 10, true, 0, /*drop_last=*/true);
  EXPECT_EQ(dropping.num_batches(), 10);
  std::vector<int64_t> sizes;
  std::vector<int64_t> labels = one_epoch(dropping, &sizes);
  EXPECT_EQ(sizes, std::vector<int64_t>(10, 10));
  std::sort(labels.begin(), labels.end());
  EXPECT_EQ(std::unique(labels.begin(), labels.end()), labels.end()) << "no example twice";
  // fewer examples than one batch: nothing with drop_last
  TensorDataset tiny = numbered_dataset(3);
  DataLoader none(tiny, 10, false, 0, true);
  Batch batch;
  EXPECT_FALSE(none.next(batch));
}

TEST(DataLoader, SameSeedSameBatchesEveryEpochDifferent) {
  TensorDataset data = numbered_dataset(50);
  DataLoader a(data, 8, true, 42), b(data, 8, true, 42, false, nullptr, /*prefetch=*/0), c(data, 8, true, 43);
  std::vector<int64_t> a0 = one_epoch(a), a1 = one_epoch(a);
  EXPECT_EQ(a0, one_epoch(b)) << "same seed, with and without the background thread";
  EXPECT_EQ(a1, one_epoch(b));
  EXPECT_NE(a0, a1) << "each epoch is shuffled anew";
  EXPECT_NE(a0, one_epoch(c)) << "another seed, another order";
  // set_epoch replays an epoch (resuming from a checkpoint)
  a.set_epoch(1);
  EXPECT_EQ(one_epoch(a), a1);
  // next() and the range-for give the same batches
  DataLoader d(data, 8, true, 42);
  std::vector<int64_t> by_next;
  Batch batch;
  while (d.next(batch)) {
    EXPECT_EQ(batch.epoch, 0);
    for (int64_t label : batch.labels.to_vector<int64_t>()) by_next.push_back(label);
  }
  EXPECT_EQ(by_next, a0);
  EXPECT_EQ(d.epoch(), 1);
}

TEST(DataLoader, AugmentationIsSeededPerBatch) {
  TensorDataset data = numbered_dataset(40);
  // adds a random number to every image: shows which generator each example saw
  Transform add_noise = [](const Tensor& image, Generator& gen) { return image + gen.uniform(); };
  auto images_of_epoch = [](DataLoader& loader) {
    std::vector<std::vector<float>> out;
    for (Batch& batch : loader) out.push_back(batch.images.to_vector<float>());
    return out;
  };
  DataLoader a(data, 6, true, 7, false, add_noise), b(data, 6, true, 7, false, add_noise, /*prefetch=*/0);
  auto a0 = images_of_epoch(a), a1 = images_of_epoch(a);
  EXPECT_EQ(a0, images_of_epoch(b));
  EXPECT_EQ(a1, images_of_epoch(b));
  EXPECT_NE(a0, a1);
  // a real augmentation: shapes stay, the pixels move
  DataLoader shifted(data, 8, false, 0, false, Compose{{RandomShift{1}, Normalize{{0.5}, {2.0}}}});
  Batch batch;
  ASSERT_TRUE(shifted.next(batch));
  EXPECT_EQ(batch.images.shape(), (Shape{8, 1, 2, 2}));
  EXPECT_EQ(batch.index, 0);
}

TEST(DataLoader, PrefetchesTwoBatchesAhead) {
  // counts the examples read; the loader's thread reads ahead of the training loop
  struct CountingDataset : Dataset {
    TensorDataset inner = numbered_dataset(100);
    mutable std::atomic<int64_t> reads{0};
    int64_t size() const override { return inner.size(); }
    Example get(int64_t i) const override {
      ++reads;
      return inner.get(i);
    }
  } data;
  DataLoader loader(data, 10, false, 0, false, nullptr, /*prefetch=*/2);
  Batch batch;
  ASSERT_TRUE(loader.next(batch));
  // batch 0 is ours; batches 1 and 2 get built in the background, then the thread waits
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (data.reads < 30 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(data.reads, 30);
  ASSERT_TRUE(loader.next(batch));
  EXPECT_EQ(batch.labels.at({0}), 10);
}

TEST(DataLoader, WorkerExceptionIsRethrownInTheCaller) {
  struct BrokenDataset : Dataset {
    TensorDataset inner = numbered_dataset(50);
    int64_t size() const override { return inner.size(); }
    Example get(int64_t i) const override {
      check(i != 25, "broken example ", i);
      return inner.get(i);
    }
  } data;
  for (int prefetch : {0, 1, 2}) {
    DataLoader loader(data, 10, false, 0, false, nullptr, prefetch);
    Batch batch;
    ASSERT_TRUE(loader.next(batch));
    ASSERT_TRUE(loader.next(batch));  // examples 0..19 are fine
    EXPECT_EQ(error_of([&] { loader.next(batch); }), "broken example 25") << "prefetch " << prefetch;
    EXPECT_EQ(loader.epoch(), 1) << "the failed epoch is over";
  }
  // a transform that throws is reported the same way
  TensorDataset good = numbered_dataset(10);
  DataLoader loader(good, 4, false, 0, false,
                    [](const Tensor& image, Generator& gen) { return rotate(image.reshape({4}), gen.uniform()); });
  EXPECT_CONTAINS(error_of([&] { one_epoch(loader); }),
                  "rotate: expected a float32 image [C, H, W] or batch [N, C, H, W], got float32 [4]");
}

TEST(DataLoader, StopsCleanlyMidEpochAndChecksShapes) {
  TensorDataset data = numbered_dataset(100);
  {
    DataLoader loader(data, 5, true, 0, false, nullptr, 2);
    Batch batch;
    ASSERT_TRUE(loader.next(batch));
    // begin() abandons the epoch in progress and starts the next
    int64_t batches = 0;
    for (Batch& b : loader) {
      EXPECT_EQ(b.epoch, 1);
      if (++batches == 3) break;
    }
  }  // destroyed with the worker waiting on a full queue: must not hang
  // examples of different shapes in one batch
  Transform grow = [](const Tensor& image, Generator&) {
    int64_t size = 2 + static_cast<int64_t>(image.at({0, 0, 0})) % 2;
    return crop(image, 0, 0, size, size);
  };
  DataLoader mixed(data, 4, false, 0, false, grow);
  EXPECT_CONTAINS(error_of([&] { one_epoch(mixed); }),
                  "DataLoader: example 1 has shape [1, 3, 3] but example 0 of the same batch has [1, 2, 2]");
  EXPECT_CONTAINS(error_of([&] { DataLoader(data, 0); }), "DataLoader: batch_size must be positive, got 0");
}

}  // namespace test_datasets_loader
