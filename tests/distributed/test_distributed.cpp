// Data-parallel training (distributed/distributed.h), run by ctest as
//   mpirun -np 2 --oversubscribe [--allow-run-as-root] ember_distributed_tests
// Every rank runs every test; a test that fails on any rank makes mpirun (and so ctest) fail.
// Started without mpirun the program is one process, and the tests that need two ranks skip.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "datasets/dataloader.h"
#include "distributed/distributed.h"
#include "layers/layers.h"
#include "optim/optim.h"
#include "tests/test_util.h"

using namespace ember;

namespace {

#define NEED_TWO_RANKS() \
  if (world_size() < 2) GTEST_SKIP() << "needs mpirun -np 2 (this process is alone)"

// A model without batch norm: then two ranks with half a batch each compute exactly what one
// process computes with the whole batch (up to the order of additions).
std::shared_ptr<Sequential> small_model(uint64_t seed) {
  Generator gen(seed);
  return std::make_shared<Sequential>(std::make_shared<Linear>(6, 16, true, &gen), std::make_shared<ReLU>(),
                                      std::make_shared<Linear>(16, 3, true, &gen));
}

// A tensor summed over the ranks, as doubles (no autograd).
std::vector<double> allreduce_copy_for_test(const Tensor& t) {
  NoGradGuard no_grad;
  return allreduce_sum_op(t).to_vector<double>();
}

// The parameters as one vector of doubles.
std::vector<double> flat_parameters(Module& model) {
  std::vector<double> out;
  for (const Tensor& p : model.parameters())
    for (double v : p.to_vector<double>()) out.push_back(v);
  return out;
}

// Trains `steps` batches of 8 on 40 examples with SGD + momentum; sharded over the ranks or not.
std::vector<double> train(bool sharded, int steps) {
  Generator data_gen(5);
  TensorDataset data(Tensor::randn({40, 6}, &data_gen), Tensor::randint(0, 3, {40}, &data_gen));
  // Every rank starts from its own random weights: the broadcast must make them rank 0's.
  auto model = small_model(sharded ? 100 + rank() : 100);
  if (sharded) broadcast_parameters(*model);
  SGD opt(model->parameters(), SGDOptions{.lr = 0.1, .momentum = 0.9});
  DataLoader loader(data, 8, /*shuffle=*/true, /*seed=*/3);
  if (sharded) loader.set_shard(rank(), world_size());
  int done = 0;
  while (done < steps) {
    for (Batch& b : loader) {
      if (done == steps) break;
      opt.zero_grad();
      Tensor loss = cross_entropy((*model)(b.images), b.labels);
      loss.backward();
      if (sharded) allreduce_gradients(model->parameters(), b.images.size(0), b.global_size, /*bucket=*/50);
      opt.step();
      ++done;
    }
  }
  return flat_parameters(*model);
}

}  // namespace

TEST(Distributed, RankAndWorld) {
  EXPECT_GE(rank(), 0);
  EXPECT_LT(rank(), world_size());
  EXPECT_EQ(allreduce_sum(int64_t{1}), world_size());
  EXPECT_DOUBLE_EQ(allreduce_sum(0.5), 0.5 * world_size());
}

TEST(Distributed, BroadcastGivesEveryRankRankZerosTensors) {
  NEED_TWO_RANKS();
  Tensor t = Tensor::full({3, 2}, 10.0 + rank());
  Tensor i = Tensor::from_vector(std::vector<int64_t>{rank() * 7, 1}, {2});
  broadcast({t, i});
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(6, 10.0f));
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
}

TEST(Distributed, ShardsAreDisjointAndTogetherAreTheWholeBatch) {
  NEED_TWO_RANKS();
  TensorDataset data(Tensor::arange(0, 21).reshape({21, 1}), Tensor::arange(0, 21, 1, DType::Int64));
  DataLoader whole(data, 8, true, 9), mine(data, 8, true, 9);
  mine.set_shard(rank(), world_size());
  // 21 examples in batches of 8: 8, 8, 5; each rank takes 4, 4 and 2 or 3.
  ASSERT_EQ(mine.num_batches(), 3);
  Batch all, part;
  while (whole.next(all)) {
    ASSERT_TRUE(mine.next(part));
    EXPECT_EQ(part.global_size, all.labels.size(0));
    // every rank's labels, gathered by summing one-hot counts
    std::vector<int64_t> labels = part.labels.to_vector<int64_t>();
    for (int64_t v = 0; v < 21; ++v) {
      int64_t here = std::count(labels.begin(), labels.end(), v);
      std::vector<int64_t> want_labels = all.labels.to_vector<int64_t>();
      int64_t want = std::count(want_labels.begin(), want_labels.end(), v);
      EXPECT_EQ(allreduce_sum(here), want) << "example " << v << " in batch " << all.index;
    }
  }
}

TEST(Distributed, TwoHalfBatchesTrainLikeOneWholeBatch) {
  NEED_TWO_RANKS();
  std::vector<double> alone = train(/*sharded=*/false, 7);
  std::vector<double> together = train(/*sharded=*/true, 7);
  expect_all_near(together, alone, 1e-6, "parameters after 7 steps");
}

TEST(Distributed, EveryRankKeepsTheSameBits) {
  NEED_TWO_RANKS();
  std::vector<double> mine = train(/*sharded=*/true, 7);
  Tensor t = Tensor::from_vector(mine, {static_cast<int64_t>(mine.size())});
  Tensor rank0 = t.clone();
  broadcast({rank0});
  EXPECT_EQ(std::memcmp(rank0.data<double>(), t.data<double>(), mine.size() * sizeof(double)), 0)
      << "rank " << rank() << "'s parameters differ from rank 0's";
}

TEST(Distributed, OneRanksFailureEndsEveryRankWithItsMessage) {
  NEED_TWO_RANKS();
  // rank 1 cannot read its data; rank 0 could: both must stop, both with rank 1's message
  EXPECT_ERROR(on_all_ranks([] {
                 if (rank() == 1) fail("cannot read 'data/part-1.bin': no such file");
               }),
               "rank 1 of 2: cannot read 'data/part-1.bin': no such file");
  // and when every rank is fine, nobody throws
  EXPECT_NO_THROW(check_all_ranks(true, ""));
}

TEST(Distributed, ParametersWithoutAGradientOnOneRankAreAveragedAsZero) {
  NEED_TWO_RANKS();
  Tensor p = Tensor::zeros({2}).requires_grad_();
  if (rank() == 0) p.set_grad(Tensor::full({2}, 4.0));  // rank 1 did not use p this step
  allreduce_gradients({p}, 1, 2);
  ASSERT_TRUE(p.grad().defined());
  EXPECT_EQ(p.grad().to_vector<float>(), (std::vector<float>{2.0f, 2.0f}));  // (1/2) * 4 + (1/2) * 0
}

TEST(Distributed, SynchronisedBatchNormEqualsOneProcessOnTheWholeBatch) {
  NEED_TWO_RANKS();
  const int64_t N = 8, C = 3;
  Tensor x_all = randn64({N, C, 4, 5}, 11), g_all = randn64({N, C, 4, 5}, 12);  // g: a fixed dLoss/dy
  auto run = [&](bool synchronised, const Tensor& x_in, const Tensor& g) {
    BatchNorm2d bn(C);
    bn.to(DType::Float64);
    {
      NoGradGuard set;
      bn.weight.copy_(randn64({C}, 13));
      bn.bias.copy_(randn64({C}, 14));
    }
    if (synchronised) synchronise_batch_norm(bn);
    Tensor x = x_in.detach().requires_grad_();
    Tensor y = bn(x);
    (y * g).sum().backward();
    std::vector<Tensor> out{y.detach(), x.grad(), bn.weight.grad(), bn.bias.grad(), bn.running_mean.clone(),
                            bn.running_var.clone()};
    return out;
  };
  // one process, the whole batch
  std::vector<Tensor> alone = run(false, x_all, g_all);
  // this rank's half, synchronised; weight and bias gradients are sums over the ranks' halves
  const int64_t lo = N * rank() / world_size(), hi = N * (rank() + 1) / world_size();
  std::vector<Tensor> mine = run(true, x_all.slice(0, lo, hi), g_all.slice(0, lo, hi));
  expect_all_near(mine[0].to_vector<double>(), alone[0].slice(0, lo, hi).to_vector<double>(), 1e-12, "y");
  expect_all_near(mine[1].to_vector<double>(), alone[1].slice(0, lo, hi).to_vector<double>(), 1e-12, "dx");
  expect_all_near(allreduce_copy_for_test(mine[2]), alone[2].to_vector<double>(), 1e-12, "dweight");
  expect_all_near(allreduce_copy_for_test(mine[3]), alone[3].to_vector<double>(), 1e-12, "dbias");
  expect_all_near(mine[4].to_vector<double>(), alone[4].to_vector<double>(), 1e-12, "running_mean");
  expect_all_near(mine[5].to_vector<double>(), alone[5].to_vector<double>(), 1e-12, "running_var");
}

TEST(Distributed, AllreduceSumOpPassesGradientsBack) {
  NEED_TWO_RANKS();
  Tensor x = Tensor::full({2}, 1.0 + rank(), DType::Float64).requires_grad_();
  Tensor y = allreduce_sum_op(x);                       // 1 + 2 = 3 on both ranks
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{3.0, 3.0}));
  (y * static_cast<double>(rank() + 1)).sum().backward();  // dL/dy_r = r + 1
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3.0, 3.0}));  // 1 + 2 on every rank
}

int main(int argc, char** argv) {
  setenv("EMBER_ALL_RANKS_PRINT", "1", /*overwrite=*/0);  // every rank's failures are shown
  DistributedSession session(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  // Rank 0 prints the whole list; the others print their failures only.
  if (rank() != 0) GTEST_FLAG_SET(brief, true);
  return RUN_ALL_TESTS();
}
