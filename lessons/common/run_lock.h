#pragma once
// RunLock: one run at a time in a run folder. Two runs writing one --out_dir would interleave
// their history.csv rows and overwrite each other's checkpoints; the second one is stopped at once
// instead, with a message that says who holds the folder:
//
//   make_dirs(out_dir);
//   RunLock lock(out_dir, "mnist");   // held until `lock` goes out of scope (or the process ends)
//
//   error: mnist: another run is using the folder runs/mnist: process 4242 (build/bin/mnist
//   --epochs=20) holds runs/mnist/.lock; wait for it to finish, stop it, or choose another --out_dir
//
// The lock is flock() on <folder>/.lock, which holds the holder's PID and command line. The
// system releases it when the process ends in any way (a crash, kill -9), so a stale .lock file
// never blocks a later run; the file itself stays behind and is harmless.
#include <string>

namespace ember {

class RunLock {
 public:
  // Takes the lock on `folder` (which must exist) or throws an ember::Error naming the folder and
  // the holder's PID and command. `program` starts the messages ("mnist").
  RunLock(const std::string& folder, const std::string& program);
  ~RunLock();  // releases the lock
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::string& path() const { return path_; }  // <folder>/.lock

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace ember
