#pragma once
// Small file-system helpers for the lessons. Every error names the file it was about, because
// "No such file or directory" alone never tells a student which of their five paths is wrong.
#include <string>

namespace ember {

// Creates `path` and any missing parent folders (like `mkdir -p`). Existing folders are fine.
void make_dirs(const std::string& path);

// True when something (a file or a folder) exists at `path`.
bool file_exists(const std::string& path);

// The whole file as bytes (std::string is used as a byte buffer).
std::string read_file(const std::string& path);

// Replaces `path` with `bytes` so that a crash or a full disk never leaves a half-written file:
// the bytes go to a temporary file beside it ("<path>.tmp.<pid>"), are flushed to the disk
// (fsync), and the temporary file is then renamed over `path` - a rename within one folder is
// atomic, so readers see either the old file or the new one, never a mix.
// The folder must exist (make_dirs).
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace ember
