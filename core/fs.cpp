#include "core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
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

std::string read_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  check(file != nullptr, "read_file: cannot open '", path, "': ", std::strerror(errno));

  std::string bytes;
  char buffer[1 << 16];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0) bytes.append(buffer, got);
  // fread returns 0 both at the end of the file and on an error (e.g. the path is a folder).
  bool failed = std::ferror(file) != 0;
  int error_number = errno;
  std::fclose(file);
  check(!failed, "read_file: cannot read '", path, "': ", std::strerror(error_number));
  return bytes;
}

namespace {

// The folder part of a path, "." for a bare file name (used to fsync the folder after a rename).
std::string parent_folder(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// Writes all of `bytes` to an open file descriptor; write() may write less than asked.
bool write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;  // interrupted by a signal before writing: retry
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  check(!path.empty(), "write_file_atomic: the path is empty");
  // The process id keeps two programs writing the same file from sharing a temporary file.
  const std::string temp = path + ".tmp." + std::to_string(::getpid());

  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int error_number = errno;
    fail("write_file_atomic: cannot write '", path, "': ", std::strerror(error_number),
         error_number == ENOENT ? " (does the folder '" + parent_folder(path) + "' exist?)" : "");
  }

  bool ok = write_all(fd, bytes);
  int error_number = errno;
  if (ok && ::fsync(fd) != 0) {  // make sure the bytes are on the disk before the rename
    ok = false;
    error_number = errno;
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    error_number = errno;
  }
  if (ok && std::rename(temp.c_str(), path.c_str()) != 0) {
    ok = false;
    error_number = errno;
  }
  if (!ok) {
    ::unlink(temp.c_str());  // never leave the temporary file behind
    fail("write_file_atomic: cannot write '", path, "': ", std::strerror(error_number));
  }

  // The rename itself lives in the folder; syncing the folder makes it survive a power cut.
  // This is best effort: some file systems do not allow opening a folder this way.
  int folder_fd = ::open(parent_folder(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder_fd >= 0) {
    ::fsync(folder_fd);
    ::close(folder_fd);
  }
}

}  // namespace ember
