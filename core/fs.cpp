#include "core/fs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace ember {

void make_dirs(const std::string& path) {
  check(!path.empty(), "make_dirs: the path is empty");
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  check(!ec, "make_dirs: cannot create folder '", path, "': ", ec.message());
  // create_directories quietly succeeds when a *file* of that name exists; that is an error here.
  check(std::filesystem::is_directory(path), "make_dirs: '", path,
        "' exists but is not a folder");
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

namespace {

// What a non-regular file is, for the error message.
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The folder part of a path, "." for a bare file name (used to fsync the folder after a rename).
std::string parent_folder(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

}  // namespace

// ---- reading --------------------------------------------------------------------------------------

InputFile::InputFile(const std::string& path, const std::string& who) : path_(path), who_(who) {
  check(!path.empty(), who, ": the path is empty");
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait until some program writes to it.
  // It changes nothing for regular files, the only kind accepted below.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) {
    int error_number = errno;
    fail(who, ": cannot open '", path, "': ", std::strerror(error_number));
  }
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    int error_number = errno;
    ::close(fd_);
    fail(who, ": cannot read '", path, "': ", std::strerror(error_number));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd_);
    fail(who, ": '", path, "' is ", file_kind(info.st_mode), ", not a regular file");
  }
  size_ = static_cast<uint64_t>(info.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void InputFile::read_at(uint64_t offset, void* out, size_t n) const {
  char* p = static_cast<char*>(out);
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd_, p + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int error_number = errno;
      fail(who_, ": cannot read '", path_, "' at offset ", offset + done, ": ", std::strerror(error_number));
    }
    check(got > 0, who_, ": '", path_, "' ends at offset ", offset + done, ", expected ", n, " bytes from offset ",
          offset, " (did the file shrink while it was read?)");
    done += static_cast<size_t>(got);
  }
}

std::string read_file(const std::string& path, uint64_t max_bytes) {
  InputFile file(path, "read_file");
  check(file.size() <= max_bytes, "read_file: '", path, "' is ", file.size(), " bytes, more than the cap of ",
        max_bytes, " bytes for this kind of file");
  std::string bytes(file.size(), '\0');
  file.read_at(0, bytes.data(), bytes.size());
  return bytes;
}

// ---- writing --------------------------------------------------------------------------------------

AtomicFile::AtomicFile(const std::string& path, const std::string& who) : path_(path), who_(who) {
  check(!path.empty(), who, ": the path is empty");
  std::error_code ec;
  check(!std::filesystem::is_directory(path, ec), who, ": cannot write '", path, "': it is a directory");
  // The process id and a counter keep two programs (or two threads) writing the same file from
  // sharing a temporary file; the process id also tells remove_stale_temporaries whose file it is.
  static std::atomic<uint64_t> counter{0};
  temp_ = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    int error_number = errno;
    fail(who, ": cannot write '", path, "': cannot create '", temp_, "': ", std::strerror(error_number),
         error_number == ENOENT ? " (does the folder '" + parent_folder(path) + "' exist?)" : "");
  }
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(temp_.c_str());  // never leave the temporary file behind; the old file is untouched
}

void AtomicFile::fail_with(const std::string& what, int error_number) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temp_.c_str());
  fail(who_, ": cannot write '", path_, "': ", what, " (", std::strerror(error_number), ")");
}

void AtomicFile::write(const void* data, size_t n, const std::string& what) {
  check(!committed_ && fd_ >= 0, who_, ": '", path_, "' was already committed (or failed); cannot write more");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;  // interrupted by a signal before writing: retry
    if (w <= 0) {
      int error_number = w < 0 ? errno : ENOSPC;
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
      ::unlink(temp_.c_str());
      fail(who_, ": cannot write ", what.empty() ? std::string("the bytes") : what, " to '", temp_,
           "' (the temporary file for '", path_, "'): ", std::strerror(error_number));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFile::commit() {
  check(!committed_ && fd_ >= 0, who_, ": '", path_, "' was already committed (or failed)");
  // The bytes must be on the disk before the rename makes them "the" file.
  if (::fsync(fd_) != 0) fail_with("fsync of '" + temp_ + "' failed", errno);
  int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) fail_with("closing '" + temp_ + "' failed", errno);
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) fail_with("renaming '" + temp_ + "' failed", errno);
  committed_ = true;

  // The rename itself lives in the folder; syncing the folder makes it survive a power cut.
  // This is best effort: some file systems do not allow opening a folder this way.
  int folder_fd = ::open(parent_folder(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder_fd >= 0) {
    ::fsync(folder_fd);
    ::close(folder_fd);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

namespace {

// The <pid> of a name ending in ".tmp-<pid>-<n>", or 0 when the name does not end that way.
pid_t temporary_owner(const std::string& name) {
  size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 == name.size()) return 0;
  for (size_t i = dash + 1; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return 0;
  size_t marker = name.rfind(".tmp-", dash);
  if (marker == std::string::npos || marker + 5 >= dash) return 0;
  long long pid = 0;
  auto [end, ec] = std::from_chars(name.data() + marker + 5, name.data() + dash, pid);
  if (ec != std::errc() || end != name.data() + dash || pid <= 0 || pid > INT32_MAX) return 0;
  return static_cast<pid_t>(pid);
}

}  // namespace

int remove_stale_temporaries(const std::string& folder) {
  std::error_code ec;
  std::filesystem::directory_iterator it(folder.empty() ? "." : folder, ec);
  if (ec) return 0;  // no folder (yet): nothing to clean
  int removed = 0;
  for (const auto& entry : it) {
    if (!entry.is_regular_file(ec)) continue;
    pid_t owner = temporary_owner(entry.path().filename().string());
    if (owner == 0) continue;
    if (::kill(owner, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to ask): keep it
    if (std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace ember
