// A training run killed in the middle of saving a checkpoint (out of memory, a cluster's time limit,
// Ctrl-\) must leave the previous checkpoint intact and loadable; the next save cleans up the
// temporary file the killed process left behind.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/fs.h"
#include "core/safetensors.h"
#include "optim/checkpoint.h"
#include "optim/sgd.h"

using namespace ember;
namespace fs = std::filesystem;

namespace test_checkpoint_crash {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch(const std::string& name) {
  fs::path dir = fs::path(EMBER_TEST_TMP) / ("checkpoint_crash_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The temporary files of AtomicFile in `dir`: "<name>.tmp-<pid>-<n>".
std::vector<std::string> temporaries_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const std::string& name : files_in(dir))
    if (name.find(".tmp-") != std::string::npos) names.push_back(name);
  return names;
}

TEST(CheckpointCrash, KilledMidSaveKeepsThePreviousCheckpoint) {
  const std::string dir = scratch("kill");
  const std::string path = dir + "/run.safetensors";

  // The previous checkpoint: a small model at step 1.
  Tensor small_weight = Tensor::full({4}, 1.5);
  SGD small_opt({small_weight}, SGDOptions{});
  save_checkpoint(path, {{"w", small_weight}}, small_opt, 1, {1, 2, 3, 4, 5, 6});
  const std::string before = read_file(path);

  // A child process starts saving a large checkpoint (128 MB) to the same path and is killed
  // (SIGKILL: no destructor, no clean-up) as soon as its temporary file has data in it.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Tensor big = Tensor::ones({32 * 1024 * 1024});
    SGD big_opt({big}, SGDOptions{});
    save_checkpoint(path, {{"w", big}}, big_opt, 2, {1, 2, 3, 4, 5, 6});
    _exit(0);
  }
  bool killed_mid_save = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<std::string> temps = temporaries_in(dir);
    std::error_code ec;
    if (!temps.empty() && fs::file_size(dir + "/" + temps[0], ec) > 0 && !ec) {
      kill(child, SIGKILL);
      killed_mid_save = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (!killed_mid_save) kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(killed_mid_save) << "the child's temporary file never appeared";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child finished its save before the kill";

  // The previous checkpoint is untouched and loads; the dead child's temporary file is still there.
  EXPECT_EQ(read_file(path), before);
  Tensor loaded_weight = Tensor::zeros({4});
  SGD loaded_opt({loaded_weight}, SGDOptions{});
  CheckpointInfo info = load_checkpoint(path, {{"w", loaded_weight}}, loaded_opt);
  EXPECT_EQ(info.step, 1);
  EXPECT_EQ(loaded_weight.to_vector<float>(), std::vector<float>(4, 1.5f));
  const std::vector<std::string> stale = temporaries_in(dir);
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_NE(stale[0].find("run.safetensors.tmp-" + std::to_string(child) + "-"), std::string::npos) << stale[0];

  // The next save removes it, and leaves only the checkpoint.
  save_checkpoint(path, {{"w", small_weight}}, small_opt, 3, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"run.safetensors"});
  EXPECT_EQ(load_checkpoint(path, {{"w", loaded_weight}}, loaded_opt).step, 3);
}

TEST(CheckpointCrash, StaleTemporariesOfLiveProcessesAreKept) {
  const std::string dir = scratch("live");
  // Ours (this process is alive), a dead process's (pid 2^22 + 1 is above Linux's pid_max limit),
  // and names that only look similar.
  const std::string ours = "a.safetensors.tmp-" + std::to_string(getpid()) + "-0";
  const std::string dead = "a.safetensors.tmp-4194305-7";
  for (const std::string& name : {ours, dead, std::string("notes.tmp-abc-1"), std::string("b.tmp-12-"),
                                  std::string("c.safetensors")})
    write_file_atomic(dir + "/" + name, "x");
  EXPECT_EQ(remove_stale_temporaries(dir), 1);
  EXPECT_EQ(files_in(dir), (std::vector<std::string>{ours, "b.tmp-12-", "c.safetensors", "notes.tmp-abc-1"}));
  EXPECT_EQ(remove_stale_temporaries(dir + "/missing"), 0);
}

TEST(CheckpointCrash, AtomicFileRemovesItsTemporaryUnlessCommitted) {
  const std::string dir = scratch("atomic");
  const std::string path = dir + "/out.bin";
  write_file_atomic(path, "old");
  {
    AtomicFile file(path, "test");
    file.write("new ");
    file.write(std::string(100000, 'x'), "the padding");
    EXPECT_EQ(temporaries_in(dir).size(), 1u);
    EXPECT_EQ(read_file(path), "old");  // nothing changes before commit
  }  // destroyed without commit: as if an exception was thrown half way
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"out.bin"});
  EXPECT_EQ(read_file(path), "old");
  {
    AtomicFile file(path, "test");
    file.write("new");
    file.commit();
  }
  EXPECT_EQ(read_file(path), "new");
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"out.bin"});
}

}  // namespace test_checkpoint_crash
