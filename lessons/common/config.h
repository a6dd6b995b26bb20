#pragma once
// Config: the settings of a lesson program, with defaults, help text, config files and
// command-line overrides - the nanoGPT way of configuring a run.
//
//   Config cfg;
//   cfg.add_int("batch_size", 64, "images per step");
//   cfg.add_float("learning_rate", 1e-3, "peak learning rate");
//   cfg.add_bool("compile", false, "fuse kernels");
//   cfg.add_string("dataset", "mnist", "which data set to train on");
//   if (!cfg.parse_args(argc, argv)) return 0;  // --help printed the keys
//   int64_t batch_size = cfg.get_int("batch_size");
//
// Command line:  ./gpt --config=config/hca.txt --batch_size=32 --compile
//   --config=FILE   loads a config file first, wherever it stands on the line (several allowed,
//                   in order); then every --key=value is applied, so the command line always
//                   overrides the files. A bool key alone (--compile) means true.
//
// Config files hold one `name = value` per line:
//
//   dataset = 'hca'        # strings in single or double quotes
//   batch_size = 64        # integers
//   learning_rate = 1e-3   # floats (an integer like 5000 is a fine float)
//   compile = False        # True/False (true/false also work)
//
// Anything after a # outside quotes is a comment; blank lines are skipped. Unknown keys and
// values of the wrong type are errors that name the key, the value, and the file and line.
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

class Config {
 public:
  enum class Type { Int, Float, Bool, String };

  // Registering the keys a program understands. Names are identifiers (letters, digits, _).
  void add_int(const std::string& name, int64_t default_value, const std::string& help);
  // A float key takes finite numbers only (nan, inf and -inf are errors naming the key) unless
  // allow_non_finite says the program gives them a meaning.
  void add_float(const std::string& name, double default_value, const std::string& help,
                 bool allow_non_finite = false);
  void add_bool(const std::string& name, bool default_value, const std::string& help);
  void add_string(const std::string& name, const std::string& default_value,
                  const std::string& help);

  // Current values. Asking for a key that does not exist, or with the wrong type, is an error.
  int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;

  bool has(const std::string& name) const;
  std::vector<std::string> names() const;  // in the order they were added

  // Sets one key from text, as it would appear in a file or after --key=. `where` says where the
  // text came from for error messages, e.g. "train.txt, line 3".
  void set(const std::string& name, const std::string& value_text,
           const std::string& where = "set()");

  // Applies every `name = value` line of config-file text; `source` (the file name) appears in
  // error messages together with the line number.
  void parse_text(const std::string& text, const std::string& source);
  void load_file(const std::string& path);

  // Applies the command line (argv[0] is the program). Returns false when --help (or -h) was
  // given, after printing help_text() to stdout: the program should then exit.
  bool parse_args(int argc, const char* const* argv);
  // The same for a list of arguments without the program name; prints nothing.
  // Returns false when --help (or -h) is among them.
  bool apply_args(const std::vector<std::string>& args);

  // A usage line and one line per key: name, type, default and help.
  std::string help_text(const std::string& program) const;

  // All current values as `name = value` lines (a valid config file). Saved next to a checkpoint
  // it records exactly how the run was configured.
  std::string dump() const;

 private:
  struct Entry {
    std::string name;
    Type type = Type::Int;
    std::string help;
    // The current value lives in the field that matches `type`.
    int64_t int_value = 0;
    double float_value = 0.0;
    bool allow_non_finite = false;  // Float: nan and inf accepted
    bool bool_value = false;
    std::string string_value;
    std::string default_text;  // the default as config text, for help_text()
  };

  Entry& add_entry(const std::string& name, Type type, const std::string& help);
  Entry* find(const std::string& name);
  const Entry* find(const std::string& name) const;
  const Entry& lookup(const std::string& name, Type wanted) const;
  std::string value_text(const Entry& entry) const;
  [[noreturn]] void fail_unknown_key(const std::string& name, const std::string& where) const;

  std::vector<Entry> entries_;
};

const char* config_type_name(Config::Type type);

}  // namespace ember
