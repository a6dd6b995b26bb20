#pragma once
// What the end-to-end lesson tests (tests/test_lesson_*.cpp) share: running a lesson program and
// reading what it wrote, in scratch folders of the test process.
//
//   const LessonProgram mnist("mnist");                  // EMBER_BIN_DIR/mnist
//   LessonRun run = mnist.run("--epochs=1 --out_dir=" + mnist.scratch("one"));
//   EXPECT_EQ(run.exit_code, 0) << run.output;
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ember {

struct LessonRun {
  int exit_code = -1;  // -1: the program did not start or was killed by a signal
  std::string output;  // standard output and standard error together
};

class LessonProgram {
 public:
  explicit LessonProgram(std::string name) : name_(std::move(name)) {}

  // Runs the program with `args` (shell words), in `cwd` when given.
  LessonRun run(const std::string& args, const std::string& cwd = "") const {
    const std::string command =
        (cwd.empty() ? "" : "cd '" + cwd + "' && ") + std::string(EMBER_BIN_DIR) + "/" + name_ + " " + args + " 2>&1";
    LessonRun result;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    size_t got = 0;
    while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

  // A fresh, empty folder of this test process (ctest runs the tests of one file in parallel
  // processes): EMBER_TEST_TMP/lesson_<name>_<pid>/<folder>. Removed when the process ends.
  std::string scratch(const std::string& folder) const {
    std::filesystem::path dir = root() / folder;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    static const bool cleanup_registered = [] {
      std::atexit([] { std::filesystem::remove_all(process_root()); });
      return true;
    }();
    (void)cleanup_registered;
    return dir.string();
  }

 private:
  static std::filesystem::path process_root() {
    return std::filesystem::path(EMBER_TEST_TMP) / ("lessons_" + std::to_string(getpid()));
  }
  std::filesystem::path root() const { return process_root() / name_; }
  std::string name_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The last non-empty line (a lesson's score line comes last).
inline std::string last_line(const std::string& text) {
  const std::string trimmed = text.substr(0, text.find_last_not_of('\n') + 1);
  return trimmed.substr(trimmed.find_last_of('\n') + 1);
}

inline int64_t count_lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

}  // namespace ember
