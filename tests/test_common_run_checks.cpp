// What stops a lesson run early, with a message, instead of letting it go on to a wrong result:
// number settings that are NaN or infinite, a loss that has become NaN, and a second run in a run
// folder that is in use (two processes, through fork).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>

#include "lessons/common/config.h"
#include "lessons/common/finite_loss.h"
#include "lessons/common/run_lock.h"
#include "tests/test_util.h"

using namespace ember;
namespace fs = std::filesystem;

namespace test_common_run_checks {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch(const std::string& name) {
  fs::path dir = fs::path(EMBER_TEST_TMP) / ("run_checks_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

TEST(ConfigNumbers, NanAndInfAreRefusedUnlessTheKeyAllowsThem) {
  Config cfg;
  cfg.add_float("rotation", 10.0, "degrees");
  cfg.add_float("target_loss", 0.0, "stop below this (inf: never)", /*allow_non_finite=*/true);
  for (const char* text : {"nan", "inf", "-inf", "NaN", "+inf"}) {
    const std::string msg = error_of([&] { cfg.set("rotation", text, "the command line"); });
    EXPECT_NE(msg.find("config: key 'rotation' expects a finite number (not nan or inf) but got \"" +
                       std::string(text) + "\" (the command line)"),
              std::string::npos)
        << msg;
  }
  EXPECT_EQ(cfg.get_float("rotation"), 10.0);  // unchanged
  EXPECT_NE(error_of([&] { cfg.apply_args({"--rotation=-nan"}); }).find("expects a finite number"), std::string::npos);
  EXPECT_EQ(error_of([&] { cfg.apply_args({"--rotation=1e308"}); }), "");
  cfg.set("target_loss", "inf");
  EXPECT_TRUE(std::isinf(cfg.get_float("target_loss")));
  EXPECT_NE(error_of([&] { cfg.parse_text("rotation = nan\n", "run.conf"); }).find("(run.conf, line 1)"),
            std::string::npos);
}

TEST(FiniteLoss, ANanLossStopsWithTheStepTheLastFiniteLossAndAHint) {
  LastFiniteLoss last;
  check_loss_is_finite(2.5, 0, last, "mnist, epoch 1", "--lr", 1e300);
  check_loss_is_finite(1.75, 1, last, "mnist, epoch 1", "--lr", 1e300);
  EXPECT_EQ(last.loss, 1.75);
  EXPECT_EQ(last.step, 1);
  std::string msg = error_of([&] { check_loss_is_finite(std::nan(""), 2, last, "mnist, epoch 1", "--lr", 1e300); });
  EXPECT_NE(msg.find("mnist, epoch 1: the loss became nan at step 2; the last finite loss was 1.75 (step 1)."),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("try a smaller --lr (this run: 1e+300)"), std::string::npos) << msg;

  LastFiniteLoss none;
  msg = error_of([&] {
    check_loss_is_finite(std::numeric_limits<double>::infinity(), 0, none, "chargpt", "--learning_rate", 5.0);
  });
  EXPECT_NE(msg.find("chargpt: the loss became inf at step 0; it was not finite from the first step"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("--learning_rate (this run: 5)"), std::string::npos) << msg;
}

// Runs `child` in a forked process and returns its exit code (what gtest checks must happen in
// the parent: the child reports through its exit code).
int in_child_process(const std::function<int()>& child) {
  const pid_t pid = fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = child();
    } catch (...) {
      code = 98;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(RunLock, ASecondProcessIsRefusedWithTheHoldersPidAndCommand) {
  const std::string dir = scratch("lock");
  {
    RunLock lock(dir, "mnist");
    EXPECT_EQ(lock.path(), dir + "/.lock");
    // another process: refused at once, and told who holds the folder
    const std::string expected = "mnist: another run is using the folder " + dir + ": process " +
                                 std::to_string(getpid()) + " (";
    const int code = in_child_process([&] {
      const std::string msg = error_of([&] { RunLock second(dir, "mnist"); });
      if (msg.find(expected) == std::string::npos) return 1;
      if (msg.find("ember_") == std::string::npos) return 2;  // the holder's command: this test program
      if (msg.find("holds " + dir + "/.lock; wait for it to finish, stop it, or choose another --out_dir") ==
          std::string::npos)
        return 3;
      return 0;
    });
    EXPECT_EQ(code, 0) << "1: no holder PID, 2: no command, 3: no hint, 98: no error at all";
  }
  // released: another process takes it now
  EXPECT_EQ(in_child_process([&] {
              RunLock again(dir, "mnist");
              return 0;
            }),
            0);
}

TEST(RunLock, ALockHeldByAnotherProcessNamesThatProcess) {
  const std::string dir = scratch("held");
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  const pid_t holder = fork();
  if (holder == 0) {  // holds the lock until the parent says it is done
    RunLock lock(dir, "mnist");
    char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(1);
    if (read(done[0], &c, 1) != 1) _exit(1);
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  const std::string msg = error_of([&] { RunLock mine(dir, "mnist"); });
  EXPECT_NE(msg.find("another run is using the folder " + dir + ": process " + std::to_string(holder) + " ("),
            std::string::npos)
      << msg;
  ASSERT_EQ(write(done[1], &c, 1), 1);
  int status = 0;
  waitpid(holder, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // the holder has ended (its lock went with it): the folder is free, even though .lock remains
  EXPECT_TRUE(fs::exists(dir + "/.lock"));
  RunLock now_mine(dir, "mnist");
  for (int fd : {ready[0], ready[1], done[0], done[1]}) close(fd);
}

TEST(RunLock, AFolderThatCannotHoldTheLockSaysWhatFailed) {
  const std::string dir = scratch("missing") + "/not_there";
  const std::string msg = error_of([&] { RunLock lock(dir, "mnist"); });
  EXPECT_NE(msg.find("mnist: cannot create the lock file " + dir + "/.lock in the run folder " + dir +
                     ": open: No such file or directory"),
            std::string::npos)
      << msg;
}

}  // namespace test_common_run_checks
