#pragma once
// CsvWriter: the training history as a CSV file (history.csv), one row per evaluation.
//
//   CsvWriter history(run_dir + "/history.csv", {"step", "train_loss", "val_loss"});
//   history.write_row({300, 0.4213, 0.4378});
//
// Every row is flushed as soon as it is written, so a run that crashes (or is stopped with
// Ctrl-C) still leaves its curve behind. Numbers are written with the shortest text that reads
// back exactly; cells that contain a comma, a quote or a line break are quoted (RFC 4180).
#include <fstream>
#include <string>
#include <vector>

namespace ember {

class CsvWriter {
 public:
  // Creates (or replaces) the file and writes the header row.
  // With append = true an existing file with the same header is continued instead, which is
  // what a resumed run wants; a different header is an error.
  CsvWriter(const std::string& path, const std::vector<std::string>& columns, bool append = false);

  // One row; the number of cells must match the header. write_text_row is for rows with text
  // cells (a different name, so that write_row({7}) is not ambiguous).
  void write_row(const std::vector<double>& values);
  void write_text_row(const std::vector<std::string>& cells);

  const std::string& path() const { return path_; }
  size_t columns() const { return columns_; }

 private:
  void write_line(const std::string& line);

  std::string path_;
  size_t columns_ = 0;
  std::ofstream out_;
};

// One cell as CSV text: quoted (with "" for a quote) only when it has to be.
std::string csv_escape(const std::string& cell);

}  // namespace ember
