#include "datasets/dataloader.h"

#include <utility>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"

namespace ember {

namespace {

// One 64-bit seed from several numbers, so that neighbouring (seed, epoch, batch) triples give
// unrelated generators: each number is folded in with a splitmix64 step, which scrambles every
// input bit into every output bit.
uint64_t mix_seed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0;
  for (uint64_t part : parts) {
    h = (h ^ part) + 0x9e3779b97f4a7c15ULL;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return h;
}

// Which generator a seed is for: the shuffle of an epoch, or the augmentation of one batch.
constexpr uint64_t kShuffleStream = 1, kTransformStream = 2;

}  // namespace

DataLoader::DataLoader(const Dataset& dataset, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last,
                       Transform transform, int prefetch)
    : dataset_(dataset),
      batch_size_(batch_size),
      shuffle_(shuffle),
      seed_(seed),
      drop_last_(drop_last),
      transform_(std::move(transform)),
      prefetch_(prefetch) {
  check(batch_size > 0, "DataLoader: batch_size must be positive, got ", batch_size);
  check(prefetch >= 0, "DataLoader: prefetch must be >= 0 (0: no background thread), got ", prefetch);
}

DataLoader::~DataLoader() { stop_worker(); }

int64_t DataLoader::num_batches() const {
  const int64_t n = dataset_.size();
  if (drop_last_ || n % batch_size_ < shard_count_) return n / batch_size_;  // (see set_shard)
  return (n + batch_size_ - 1) / batch_size_;
}

void DataLoader::set_shard(int64_t rank, int64_t world_size) {
  check(world_size >= 1 && rank >= 0 && rank < world_size, "DataLoader: shard ", rank, " of ", world_size,
        " is not a rank in [0, ", world_size, ")");
  check(batch_size_ >= world_size, "DataLoader: a batch of ", batch_size_, " cannot be shared by ", world_size,
        " processes (each needs at least one example): raise the batch size");
  stop_worker();
  running_ = false;
  shard_rank_ = rank;
  shard_count_ = world_size;
}

void DataLoader::set_epoch(int64_t epoch) {
  check(epoch >= 0, "DataLoader: epoch must be >= 0, got ", epoch);
  stop_worker();
  running_ = false;
  epoch_ = epoch;
}

void DataLoader::start_epoch() {
  stop_worker();
  // This epoch's order: 0..N-1, shuffled (Fisher-Yates) by a generator seeded from (seed, epoch).
  const int64_t n = dataset_.size();
  order_.resize(n);
  for (int64_t i = 0; i < n; ++i) order_[i] = i;
  if (shuffle_) {
    Generator gen(mix_seed({seed_, static_cast<uint64_t>(epoch_), kShuffleStream}));
    for (int64_t i = n - 1; i > 0; --i) std::swap(order_[i], order_[gen.randint(0, i + 1)]);
  }
  next_batch_ = 0;
  running_ = true;
  if (prefetch_ > 0) worker_ = std::thread(&DataLoader::worker_loop, this, epoch_);
}

void DataLoader::finish_epoch() {
  stop_worker();
  running_ = false;
  ++epoch_;
}

void DataLoader::stop_worker() {
  if (worker_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }
  ready_.clear();
  stop_ = false;
}

// The background thread: builds the epoch's batches in order, keeping at most prefetch_ ready.
void DataLoader::worker_loop(int64_t epoch) {
  for (int64_t b = 0; b < num_batches(); ++b) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stop_ || static_cast<int>(ready_.size()) < prefetch_; });
      if (stop_) return;
    }
    Slot slot;
    try {
      slot.batch = make_batch(epoch, b);
    } catch (...) {
      slot.error = std::current_exception();  // handed to next(), which re-throws it
    }
    const bool failed = slot.error != nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(std::move(slot));
    }
    changed_.notify_all();
    if (failed) return;
  }
}

bool DataLoader::next(Batch& batch) {
  if (!running_) start_epoch();
  if (next_batch_ == num_batches()) {
    finish_epoch();
    return false;
  }
  if (prefetch_ == 0) {
    try {
      batch = make_batch(epoch_, next_batch_);
    } catch (...) {
      finish_epoch();
      throw;
    }
  } else {
    Slot slot;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return !ready_.empty(); });
      slot = std::move(ready_.front());
      ready_.pop_front();
    }
    changed_.notify_all();  // the worker may build the next one
    if (slot.error) {
      finish_epoch();
      std::rethrow_exception(slot.error);
    }
    batch = std::move(slot.batch);
  }
  ++next_batch_;
  return true;
}

DataLoader::Iterator DataLoader::begin() {
  if (running_) finish_epoch();
  Iterator it(this);
  ++it;  // fetch the first batch
  return it;
}

// Batch b of an epoch: the examples order_[b * batch_size ...] (this rank's slice of them when
// sharded), each through the transform with this batch's own generator, stacked into [B, ...].
Batch DataLoader::make_batch(int64_t epoch, int64_t b) const {
  NoGradGuard no_grad;  // a batch is data, not part of a graph (and this may be another thread)
  const int64_t global_start = b * batch_size_;
  const int64_t global_count = std::min(batch_size_, dataset_.size() - global_start);
  // rank r of R takes [global_count * r / R, global_count * (r + 1) / R) of the batch
  const int64_t start = global_start + global_count * shard_rank_ / shard_count_;
  const int64_t count = global_start + global_count * (shard_rank_ + 1) / shard_count_ - start;
  Generator gen(shard_count_ == 1
                    ? mix_seed({seed_, static_cast<uint64_t>(epoch), kTransformStream, static_cast<uint64_t>(b)})
                    : mix_seed({seed_, static_cast<uint64_t>(epoch), kTransformStream, static_cast<uint64_t>(b),
                                static_cast<uint64_t>(shard_rank_)}));
  std::vector<Tensor> images;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t index = order_[start + i];
    Example example = dataset_.get(index);
    Tensor image = transform_ ? transform_(example.image, gen) : example.image;
    check(image.defined(), "DataLoader: example ", index, " has no image");
    check(image.dtype() == DType::Float32, "DataLoader: example ", index, " is a ", dtype_name(image.dtype()),
          " image; images must be float32");
    if (i > 0 && image.shape() != images[0].shape())
      fail("DataLoader: example ", index, " has shape ", shape_str(image.shape()), " but example ", order_[start],
           " of the same batch has ", shape_str(images[0].shape()), "; resize or crop them to one size");
    images.push_back(image);
    labels.push_back(example.label);
  }
  Batch batch;
  batch.images = stack(images, 0);
  batch.labels = Tensor::from_vector(labels, {count});
  batch.index = b;
  batch.epoch = epoch;
  batch.global_size = global_count;
  return batch;
}

}  // namespace ember
