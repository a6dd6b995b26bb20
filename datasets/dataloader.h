#pragma once
// DataLoader: turns a Dataset into batches for training.
//
//   TensorDataset train(mnist.images, mnist.labels);
//   DataLoader loader(train, 64, /*shuffle=*/true, /*seed=*/0, /*drop_last=*/false, RandomShift{2});
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (Batch& batch : loader) {        // one pass over the data = one epoch
//       // batch.images float32 [B, 1, 28, 28], batch.labels int64 [B]
//     }
//
// or, without a range-for:  Batch batch;  while (loader.next(batch)) { ... }
//
// Each epoch visits every example once: the indices 0..N-1, shuffled when `shuffle` is true, cut
// into batches of batch_size (the last one smaller, or dropped with drop_last).
//
// Reproducible: epoch e's order is shuffled by a Generator seeded from (seed, e), and batch b's
// transform draws from a Generator seeded from (seed, e, b). The same seed gives the same batches,
// augmentation included, on every machine, whatever the thread timing.
//
// Sharding (data-parallel training, distributed/distributed.h): set_shard(rank, world) makes this
// loader hand out only rank's slice of every batch: batch b's examples (the same shuffled order on
// every rank) split into `world` consecutive parts as evenly as they go. The slices of all ranks
// together are exactly the batch a single process gets; Batch::global_size counts them. A last batch
// with fewer examples than ranks is dropped (a rank with no example has no gradient to give).
// Each rank's augmentation draws from its own generator, seeded from (seed, epoch, batch, rank).
//
// Prefetch: while the network trains on batch b, a background thread already builds batches b+1
// and b+2 (reading, augmenting, stacking), so the training loop rarely waits for data. An exception
// in that thread (a corrupt file, a bad transform) is re-thrown by next() in the training thread,
// after the batches before it. prefetch = 0 builds each batch in next() on the caller's thread:
// slower, but simpler to step through in a debugger.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/tensor.h"
#include "datasets/dataset.h"
#include "datasets/transforms.h"

namespace ember {

struct Batch {
  Tensor images;      // float32 [B, ...]: the (transformed) images of the examples, stacked
  Tensor labels;      // int64 [B]
  int64_t index = 0;  // which batch of the epoch, from 0
  int64_t epoch = 0;
  int64_t global_size = 0;  // examples in this batch on all ranks together (= B without sharding)
};

class DataLoader {
 public:
  // The dataset must outlive the loader. transform (may be empty) is applied to every example.
  DataLoader(const Dataset& dataset, int64_t batch_size, bool shuffle = false, uint64_t seed = 0,
             bool drop_last = false, Transform transform = nullptr, int prefetch = 2);
  ~DataLoader();  // stops the background thread
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t num_batches() const;  // per epoch

  // Take only this rank's slice of every batch (see above); (0, 1) is the whole batch. Call it
  // before the first epoch.
  void set_shard(int64_t rank, int64_t world_size);
  int64_t shard_rank() const { return shard_rank_; }
  int64_t shard_count() const { return shard_count_; }
  int64_t batch_size() const { return batch_size_; }
  const Dataset& dataset() const { return dataset_; }

  // The epoch in progress, or the one the next call of next()/begin() starts. Epochs count from 0.
  int64_t epoch() const { return epoch_; }
  // Continue with epoch `epoch` (e.g. when resuming from a checkpoint); ends an epoch in progress.
  void set_epoch(int64_t epoch);

  // The next batch of the current epoch (starting one if none is in progress). Returns false, and
  // moves on to the next epoch, when the epoch is over.
  bool next(Batch& batch);

  // Range-for over one epoch: begin() starts a new epoch (ending one in progress).
  struct End {};
  class Iterator {
   public:
    Batch& operator*() { return batch_; }
    Iterator& operator++() {
      done_ = !loader_->next(batch_);
      return *this;
    }
    bool operator!=(End) const { return !done_; }

   private:
    friend class DataLoader;
    explicit Iterator(DataLoader* loader) : loader_(loader) {}
    DataLoader* loader_;
    Batch batch_;
    bool done_ = false;
  };
  Iterator begin();
  End end() { return {}; }

 private:
  // What the background thread hands over: a batch, or the exception that building it threw.
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };

  void start_epoch();
  void finish_epoch();  // stops the worker and moves on to the next epoch
  void stop_worker();
  void worker_loop(int64_t epoch);
  Batch make_batch(int64_t epoch, int64_t b) const;

  const Dataset& dataset_;
  const int64_t batch_size_;
  const bool shuffle_;
  const uint64_t seed_;
  const bool drop_last_;
  const Transform transform_;
  const int prefetch_;

  int64_t shard_rank_ = 0, shard_count_ = 1;
  int64_t epoch_ = 0;
  bool running_ = false;        // an epoch is in progress
  std::vector<int64_t> order_;  // this epoch's example indices; fixed while the worker runs
  int64_t next_batch_ = 0;      // the batch next() returns next

  // The background thread and the batches it has ready (at most prefetch_ of them).
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;  // a batch was added or taken, or stop_ was set
  std::deque<Slot> ready_;
  bool stop_ = false;
};

}  // namespace ember
