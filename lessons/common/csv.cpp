#include "lessons/common/csv.h"

#include "core/error.h"
#include "core/fs.h"
#include "lessons/common/number_format.h"

namespace ember {

std::string csv_escape(const std::string& cell) {
  bool needs_quotes = cell.find_first_of(",\"\r\n") != std::string::npos;
  if (!needs_quotes) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';  // a quote inside a quoted cell is written twice
    quoted += c;
  }
  return quoted + "\"";
}

namespace {

std::string join_row(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += ',';
    line += csv_escape(cells[i]);
  }
  return line;
}

// The first line of a file, without its line break ("" for an empty file).
std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

CsvWriter::CsvWriter(const std::string& path, const std::vector<std::string>& columns,
                     bool append)
    : path_(path), columns_(columns.size()) {
  check(!columns.empty(), "CsvWriter: '", path, "' needs at least one column");
  const std::string header = join_row(columns);

  bool continue_file = false;
  if (append && file_exists(path)) {
    std::string existing = read_file(path);
    if (!existing.empty()) {
      check(first_line(existing) == header, "CsvWriter: cannot append to '", path,
            "': its header is '", first_line(existing), "' but the columns are now '", header,
            "'");
      // A crash in the middle of a row leaves a line without its line break; end it first.
      check(existing.back() == '\n', "CsvWriter: cannot append to '", path,
            "': its last line is incomplete");
      continue_file = true;
    }
  }

  out_.open(path, continue_file ? std::ios::app : std::ios::trunc);
  check(out_.is_open(), "CsvWriter: cannot open '", path, "' for writing");
  if (!continue_file) write_line(header);
}

void CsvWriter::write_row(const std::vector<double>& values) {
  std::vector<std::string> cells;
  cells.reserve(values.size());
  for (double v : values) cells.push_back(format_shortest(v));
  write_text_row(cells);
}

void CsvWriter::write_text_row(const std::vector<std::string>& cells) {
  check(cells.size() == columns_, "CsvWriter: '", path_, "' has ", columns_,
        " columns but the row has ", cells.size(), " cells");
  write_line(join_row(cells));
}

void CsvWriter::write_line(const std::string& line) {
  out_ << line << '\n';
  out_.flush();  // hand the row to the operating system now: a crash keeps it
  check(out_.good(), "CsvWriter: writing to '", path_, "' failed (is the disk full?)");
}

}  // namespace ember
