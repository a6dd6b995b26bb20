#include "lessons/common/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <iostream>

#include "core/error.h"
#include "core/fs.h"
#include "lessons/common/number_format.h"

namespace ember {

const char* config_type_name(Config::Type type) {
  switch (type) {
    case Config::Type::Int: return "int";
    case Config::Type::Float: return "float";
    case Config::Type::Bool: return "bool";
    case Config::Type::String: return "string";
  }
  return "?";
}

namespace {

bool is_identifier(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string trim(const std::string& text) {
  const char* space = " \t\r\n";
  size_t begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

// The line without its comment: everything from a '#' that is not inside quotes.
std::string strip_comment(const std::string& line) {
  char quote = 0;  // the quote character we are inside, or 0
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote != 0) {
      if (c == '\\') ++i;  // an escaped character cannot close the string
      else if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#') {
      return line.substr(0, i);
    }
  }
  return line;
}

// 'hca' or "hca" -> hca, with \\ \' \" \n \t understood. Unquoted text is returned as it is.
std::string unquote(const std::string& text, const std::string& name, const std::string& where) {
  if (text.empty() || (text[0] != '\'' && text[0] != '"')) return text;
  const char quote = text[0];
  std::string value;
  for (size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == quote) {
      check(i + 1 == text.size(), "config: unexpected text after the closing quote in ", text,
            " for '", name, "' (", where, ")");
      return value;
    }
    if (c == '\\' && i + 1 < text.size()) {
      char next = text[++i];
      value += next == 'n' ? '\n' : next == 't' ? '\t' : next;
    } else {
      value += c;
    }
  }
  fail("config: the string ", text, " for '", name, "' has no closing ", quote, " (", where, ")");
}

// Parses the whole of `text` as a number of type T; false if any character is left over.
// from_chars does not accept a leading '+', Python and people do.
template <typename T>
std::errc parse_number(const std::string& text, T& out) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') ++begin;
  if (begin == end) return std::errc::invalid_argument;
  auto result = std::from_chars(begin, end, out);
  if (result.ec == std::errc() && result.ptr != end) return std::errc::invalid_argument;
  return result.ec;
}

// A float as config text; whole numbers keep a ".0" so the type stays visible (5000.0).
std::string float_text(double value) {
  std::string text = format_shortest(value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // n: nan and inf
  return text;
}

// A string as config text in single quotes.
std::string quoted(const std::string& value) {
  std::string text = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') text += '\\';
    if (c == '\n') text += "\\n";
    else if (c == '\t') text += "\\t";
    else text += c;
  }
  return text + "'";
}

// Levenshtein distance: the number of single-letter edits from a to b ("did you mean ...?").
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

// ---- registering keys ---------------------------------------------------------------------------

Config::Entry& Config::add_entry(const std::string& name, Type type, const std::string& help) {
  check(is_identifier(name), "config: '", name,
        "' is not a valid key name (use letters, digits and _)");
  check(name != "config" && name != "help", "config: '", name,
        "' is reserved for the command line (--", name, ")");
  check(find(name) == nullptr, "config: key '", name, "' was added twice");
  Entry entry;
  entry.name = name;
  entry.type = type;
  entry.help = help;
  entries_.push_back(entry);
  return entries_.back();
}

void Config::add_int(const std::string& name, int64_t default_value, const std::string& help) {
  Entry& entry = add_entry(name, Type::Int, help);
  entry.int_value = default_value;
  entry.default_text = value_text(entry);
}

void Config::add_float(const std::string& name, double default_value, const std::string& help,
                       bool allow_non_finite) {
  Entry& entry = add_entry(name, Type::Float, help);
  entry.float_value = default_value;
  entry.allow_non_finite = allow_non_finite;
  entry.default_text = value_text(entry);
}

void Config::add_bool(const std::string& name, bool default_value, const std::string& help) {
  Entry& entry = add_entry(name, Type::Bool, help);
  entry.bool_value = default_value;
  entry.default_text = value_text(entry);
}

void Config::add_string(const std::string& name, const std::string& default_value,
                        const std::string& help) {
  Entry& entry = add_entry(name, Type::String, help);
  entry.string_value = default_value;
  entry.default_text = value_text(entry);
}

// ---- reading values -----------------------------------------------------------------------------

Config::Entry* Config::find(const std::string& name) {
  for (Entry& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

const Config::Entry* Config::find(const std::string& name) const {
  for (const Entry& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

bool Config::has(const std::string& name) const { return find(name) != nullptr; }

std::vector<std::string> Config::names() const {
  std::vector<std::string> result;
  for (const Entry& entry : entries_) result.push_back(entry.name);
  return result;
}

const Config::Entry& Config::lookup(const std::string& name, Type wanted) const {
  const Entry* entry = find(name);
  if (entry == nullptr) fail_unknown_key(name, "");
  check(entry->type == wanted, "config: get_", config_type_name(wanted), "(\"", name,
        "\"): the key is a ", config_type_name(entry->type), "; use get_",
        config_type_name(entry->type));
  return *entry;
}

int64_t Config::get_int(const std::string& name) const { return lookup(name, Type::Int).int_value; }

double Config::get_float(const std::string& name) const {
  return lookup(name, Type::Float).float_value;
}

bool Config::get_bool(const std::string& name) const { return lookup(name, Type::Bool).bool_value; }

const std::string& Config::get_string(const std::string& name) const {
  return lookup(name, Type::String).string_value;
}

void Config::fail_unknown_key(const std::string& name, const std::string& where) const {
  std::string message = "config: unknown key '" + name + "'";
  if (!where.empty()) message += " (" + where + ")";

  // Suggest the closest known key when it is only a typo away.
  std::string closest;
  size_t best = 3;  // more than 2 edits is not a typo
  for (const Entry& entry : entries_) {
    size_t distance = edit_distance(name, entry.name);
    if (distance < best) {
      best = distance;
      closest = entry.name;
    }
  }
  if (!closest.empty()) message += "; did you mean '" + closest + "'?";

  message += entries_.empty() ? "; no keys are defined" : "; known keys: ";
  for (size_t i = 0; i < entries_.size(); ++i) message += (i > 0 ? ", " : "") + entries_[i].name;
  fail(message);
}

// ---- setting values -----------------------------------------------------------------------------

void Config::set(const std::string& name, const std::string& value_text,
                 const std::string& where) {
  Entry* entry = find(name);
  if (entry == nullptr) fail_unknown_key(name, where);

  // The value as the user wrote it, for error messages.
  auto wrong = [&](const char* expected) {
    fail("config: key '", name, "' expects ", expected, " but got \"", value_text, "\" (", where,
         ")");
  };

  switch (entry->type) {
    case Type::Int: {
      int64_t value = 0;
      std::errc ec = parse_number(value_text, value);
      if (ec == std::errc::result_out_of_range) wrong("an integer that fits in 64 bits");
      if (ec != std::errc()) wrong("an integer");
      entry->int_value = value;
      break;
    }
    case Type::Float: {
      double value = 0;
      std::errc ec = parse_number(value_text, value);
      if (ec == std::errc::result_out_of_range) wrong("a number within double range");
      if (ec != std::errc()) wrong("a number");
      // nan slips through every range check (all comparisons are false) and inf overflows the
      // arithmetic after it: refused here, for every key that does not ask for them.
      if (!std::isfinite(value) && !entry->allow_non_finite) wrong("a finite number (not nan or inf)");
      entry->float_value = value;
      break;
    }
    case Type::Bool: {
      if (value_text == "True" || value_text == "true") entry->bool_value = true;
      else if (value_text == "False" || value_text == "false") entry->bool_value = false;
      else wrong("True or False");
      break;
    }
    case Type::String:
      entry->string_value = unquote(value_text, name, where);
      break;
  }
}

void Config::parse_text(const std::string& text, const std::string& source) {
  // Editors on Windows may start a UTF-8 file with a byte order mark (EF BB BF); it is not part of
  // the first key (it would show as "'\ufeffepochs' is not a valid key name", with the culprit invisible).
  size_t line_start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  int line_number = 0;
  while (line_start <= text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    std::string raw_line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    ++line_number;

    std::string line = trim(strip_comment(raw_line));
    if (line.empty()) continue;
    const std::string where = source + ", line " + std::to_string(line_number);

    size_t equals = line.find('=');
    check(equals != std::string::npos, "config: expected 'name = value' but got '", trim(raw_line),
          "' (", where, ")");
    std::string name = trim(line.substr(0, equals));
    std::string value = trim(line.substr(equals + 1));
    check(is_identifier(name), "config: '", name, "' is not a valid key name (", where, ")");
    check(!value.empty(), "config: key '", name, "' has no value (", where, ")");
    set(name, value, where);
  }
}

// A config file is a few hundred bytes; 16 MiB means a wrong path (a data file, say). read_file
// refuses folders, devices and FIFOs, naming the path.
void Config::load_file(const std::string& path) { parse_text(read_file(path, uint64_t(16) << 20), path); }

// ---- the command line ---------------------------------------------------------------------------

bool Config::parse_args(int argc, const char* const* argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (apply_args(args)) return true;
  std::cout << help_text(argc > 0 ? argv[0] : "program");
  return false;
}

bool Config::apply_args(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") return false;
  }
  // Files first, in the order given, so that every --key=value overrides them.
  for (const std::string& arg : args) {
    check(arg != "--config", "config: --config needs a file name: --config=FILE");
    if (starts_with(arg, "--config=")) load_file(arg.substr(9));
  }
  for (const std::string& arg : args) {
    if (starts_with(arg, "--config=")) continue;
    check(starts_with(arg, "--") && arg.size() > 2, "config: unexpected argument '", arg,
          "'; settings look like --name=value, and a config file is loaded with --config=FILE");
    const std::string where = "command line argument '" + arg + "'";
    std::string body = arg.substr(2);
    size_t equals = body.find('=');
    if (equals != std::string::npos) {
      set(body.substr(0, equals), body.substr(equals + 1), where);
      continue;
    }
    // --name alone switches a bool key on.
    Entry* entry = find(body);
    if (entry == nullptr) fail_unknown_key(body, where);
    check(entry->type == Type::Bool, "config: --", body, " needs a value, e.g. --", body, "=",
          value_text(*entry), " (it is a", entry->type == Type::Int ? "n " : " ",
          config_type_name(entry->type), " key)");
    entry->bool_value = true;
  }
  return true;
}

// ---- text for people ----------------------------------------------------------------------------

std::string Config::value_text(const Entry& entry) const {
  switch (entry.type) {
    case Type::Int: return std::to_string(entry.int_value);
    case Type::Float: return float_text(entry.float_value);
    case Type::Bool: return entry.bool_value ? "True" : "False";
    case Type::String: return quoted(entry.string_value);
  }
  return "";
}

std::string Config::help_text(const std::string& program) const {
  std::string text = "usage: " + program + " [--config=FILE] [--name=value ...] [--help]\n\n";
  text += "Settings (in a config file as `name = value`, on the command line as --name=value;\n";
  text += "a bool alone, --name, means True):\n\n";

  // Columns as wide as their widest entry.
  size_t name_width = 4, type_width = 4, default_width = 7;
  for (const Entry& entry : entries_) {
    name_width = std::max(name_width, entry.name.size());
    type_width = std::max(type_width, std::string(config_type_name(entry.type)).size());
    default_width = std::max(default_width, entry.default_text.size());
  }
  auto row = [&](const std::string& name, const std::string& type, const std::string& fallback,
                 const std::string& help) {
    std::string line = "  " + name + std::string(name_width - name.size() + 2, ' ');
    line += type + std::string(type_width - type.size() + 2, ' ');
    line += fallback + std::string(default_width - fallback.size() + 2, ' ');
    return line + help + "\n";
  };
  text += row("name", "type", "default", "meaning");
  for (const Entry& entry : entries_) {
    text += row(entry.name, config_type_name(entry.type), entry.default_text, entry.help);
  }
  return text;
}

std::string Config::dump() const {
  std::string text;
  for (const Entry& entry : entries_) text += entry.name + " = " + value_text(entry) + "\n";
  return text;
}

}  // namespace ember
