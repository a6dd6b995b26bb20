#include "lessons/common/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "core/error.h"

namespace ember {

namespace {

// This process's command line, arguments separated by spaces (from /proc/self/cmdline, where
// they are separated by NUL bytes).
std::string own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\0') text.pop_back();
  for (char& c : text)
    if (c == '\0') c = ' ';
  return text.empty() ? "(unknown command)" : text;
}

// What the holder wrote into the lock file: "pid 4242\ncommand build/bin/mnist --epochs=20\n".
std::string describe_holder(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t got = 0;
  off_t offset = 0;
  while ((got = pread(fd, buffer, sizeof buffer, offset)) > 0 && text.size() < 65536) {
    text.append(buffer, static_cast<size_t>(got));
    offset += got;
  }
  std::string pid, command;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("pid ", 0) == 0) pid = line.substr(4);
    if (line.rfind("command ", 0) == 0) command = line.substr(8);
  }
  if (pid.empty()) return "a process that has not written its PID yet";
  return "process " + pid + " (" + (command.empty() ? "command unknown" : command) + ")";
}

}  // namespace

RunLock::RunLock(const std::string& folder, const std::string& program) : path_(folder + "/.lock") {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int error = errno;
    // Some folders exist but take no new files (/proc/self says "No such file or directory"): say so,
    // so that the message does not suggest the folder is missing.
    struct stat info {};
    const bool folder_exists = ::stat(folder.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
    fail(program, ": cannot create the lock file ", path_, " in the run folder ", folder, ": open: ",
         std::strerror(error), folder_exists ? " (the folder exists, but no file can be created in it)" : "");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = error == EWOULDBLOCK ? describe_holder(fd_) : "";
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      fail(program, ": another run is using the folder ", folder, ": ", holder, " holds ", path_,
           "; wait for it to finish, stop it, or choose another --out_dir");
    fail(program, ": cannot lock ", path_, ": flock: ", std::strerror(error));
  }
  // Ours now: say who we are, for the message a second run prints.
  const std::string holder = "pid " + std::to_string(::getpid()) + "\ncommand " + own_command_line() + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, holder.data(), holder.size(), 0) != static_cast<ssize_t>(holder.size())) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    fail(program, ": cannot write ", path_, ": ", std::strerror(error));
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace ember
