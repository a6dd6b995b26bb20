#pragma once
// Small file-system helpers. Every error names the file it was about, because "No such file or
// directory" alone never tells a student which of their five paths is wrong.
//
// Reading: only regular files are read. A folder, /dev/zero, a FIFO or a socket is refused with a
// message naming the path (reading /dev/zero would never end, and opening a FIFO would wait forever
// for a writer). Every read has a size cap, so a wrong path never fills the memory.
//
// Writing: AtomicFile writes a file so that a crash, a kill or a full disk never leaves a
// half-written file at the target path (see below).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ember {

// Creates `path` and any missing parent folders (like `mkdir -p`). Existing folders are fine.
void make_dirs(const std::string& path);

// True when something (a file or a folder) exists at `path`.
bool file_exists(const std::string& path);

// The default size cap of read_file: configs, text corpora and small data files are far below it.
constexpr uint64_t kDefaultReadCap = uint64_t(1) << 30;  // 1 GiB

// The whole file as bytes (std::string is used as a byte buffer). Refuses anything that is not a
// regular file, and files larger than `max_bytes` (the error names the cap).
std::string read_file(const std::string& path, uint64_t max_bytes = kDefaultReadCap);

// An open regular file for reading; the file descriptor is closed by the destructor.
// `who` starts every error message ("load_safetensors", "cifar10", ...).
class InputFile {
 public:
  InputFile(const std::string& path, const std::string& who);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }  // as fstat saw it when the file was opened

  // Reads exactly `n` bytes starting at byte `offset`; throws naming the file and the offset when
  // the file ends first (it shrank while being read) or the system reports an error.
  void read_at(uint64_t offset, void* out, size_t n) const;

 private:
  std::string path_, who_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// AtomicFile: replaces `path` so that readers (and a later run after a crash) see either the old
// file or the complete new one, never a mix:
//
//   AtomicFile out(path, "save_safetensors");   // creates "<path>.tmp-<pid>-<n>" beside path
//   out.write(header);  out.write(data, n);      // any number of chunks
//   out.commit();                                // flush, fsync, rename over path, fsync the folder
//
// A rename within one folder is atomic. If commit() is never reached (an exception, an early
// return), the destructor removes the temporary file; if the process is killed, the temporary
// file stays behind and remove_stale_temporaries() cleans it up later. The folder must exist.
class AtomicFile {
 public:
  AtomicFile(const std::string& path, const std::string& who = "write_file_atomic");
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // `what` names the chunk in an error message ("tensor \"fc.weight\""); empty: "the bytes".
  void write(const void* data, size_t n, const std::string& what = "");
  void write(std::string_view bytes, const std::string& what = "") { write(bytes.data(), bytes.size(), what); }
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temp_; }

 private:
  [[noreturn]] void fail_with(const std::string& what, int error_number);
  std::string path_, temp_, who_;
  int fd_ = -1;
  bool committed_ = false;
};

// Replaces `path` with `bytes` through an AtomicFile (see above).
void write_file_atomic(const std::string& path, const std::string& bytes);

// Deletes the temporary files AtomicFile leaves behind when a process is killed mid-write:
// names "<anything>.tmp-<pid>-<n>" in `folder` whose <pid> is no live process (kill(pid, 0) says
// ESRCH). Files of live processes (another program saving right now) are left alone. Returns how
// many files were removed; a missing folder removes nothing.
int remove_stale_temporaries(const std::string& folder);

}  // namespace ember
