// Tests of lessons/common/{fs,csv,json,number_format}: the files a training run leaves behind.
#include <gtest/gtest.h>

#include "tests/test_util.h"

using ember::error_of;

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "lessons/common/csv.h"
#include "core/fs.h"
#include "lessons/common/json.h"
#include "lessons/common/number_format.h"

#ifndef EMBER_TEST_TMP
#define EMBER_TEST_TMP "/tmp/ember_test_tmp"
#endif

namespace test_common_files {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// A fresh, empty scratch folder for one test.
std::string fresh_folder(const std::string& name) {
  std::string folder = std::string(EMBER_TEST_TMP) + "/common_files/" + name;
  std::filesystem::remove_all(folder);
  ember::make_dirs(folder);
  return folder;
}

std::vector<std::string> folder_entries(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// ---- fs ---------------------------------------------------------------------------------------

TEST(CommonFs, MakeDirsCreatesNestedFoldersAndAcceptsExistingOnes) {
  std::string root = fresh_folder("make_dirs");
  std::string nested = root + "/a/b/c";
  ember::make_dirs(nested);
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  ember::make_dirs(nested);  // again: fine
  ember::write_file_atomic(root + "/file", "x");
  std::string message = error_of([&] { ember::make_dirs(root + "/file"); });
  EXPECT_NE(message.find(root + "/file"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { ember::make_dirs(""); }), "");  // "": no error thrown
}

TEST(CommonFs, WriteFileAtomicLeavesOnlyTheFile) {
  std::string folder = fresh_folder("atomic");
  std::string path = folder + "/metrics.bin";
  std::string bytes("a\0b\nc", 5);  // binary-safe, embedded zero included
  ember::write_file_atomic(path, bytes);
  EXPECT_EQ(ember::read_file(path), bytes);
  ember::write_file_atomic(path, "second version");  // replaces the old content completely
  EXPECT_EQ(ember::read_file(path), "second version");
  ember::write_file_atomic(path, "");
  EXPECT_EQ(ember::read_file(path), "");
  EXPECT_EQ(folder_entries(folder), std::vector<std::string>{"metrics.bin"});
  EXPECT_TRUE(ember::file_exists(path));
  EXPECT_FALSE(ember::file_exists(path + ".nope"));
}

TEST(CommonFs, ErrorsNameTheFile) {
  std::string folder = fresh_folder("errors");
  std::string missing = error_of([&] { ember::read_file(folder + "/nope.txt"); });
  EXPECT_NE(missing.find("read_file: cannot open '" + folder + "/nope.txt'"), std::string::npos)
      << missing;
  EXPECT_NE(missing.find("No such file"), std::string::npos) << missing;

  std::string a_folder = error_of([&] { ember::read_file(folder); });
  EXPECT_NE(a_folder.find(folder), std::string::npos) << a_folder;

  std::string no_parent = error_of([&] { ember::write_file_atomic(folder + "/no/x.txt", "x"); });
  EXPECT_NE(no_parent.find("cannot write '" + folder + "/no/x.txt'"), std::string::npos)
      << no_parent;
  EXPECT_NE(no_parent.find("does the folder '" + folder + "/no' exist?"), std::string::npos)
      << no_parent;
  EXPECT_TRUE(folder_entries(folder).empty());  // nothing left behind
}

// ---- numbers ----------------------------------------------------------------------------------

TEST(CommonNumberFormat, ShortestTextReadsBackExactly) {
  EXPECT_EQ(ember::format_shortest(0.1), "0.1");
  EXPECT_EQ(ember::format_shortest(3.0), "3");
  EXPECT_EQ(ember::format_shortest(-2.5), "-2.5");
  EXPECT_EQ(ember::format_shortest(6e-4), "0.0006");
  EXPECT_EQ(ember::format_shortest(1e-5), "1e-05");
  EXPECT_EQ(ember::format_shortest(1e16), "1e+16");
  EXPECT_EQ(ember::format_shortest(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(ember::format_significant(0.42131, 4), "0.4213");
  EXPECT_EQ(ember::format_significant(0.8710, 4), "0.871");
}

// ---- json -------------------------------------------------------------------------------------

TEST(CommonJson, EscapesEverythingJsonRequires) {
  EXPECT_EQ(ember::json_escape("plain"), "\"plain\"");
  EXPECT_EQ(ember::json_escape("he said \"hi\""), "\"he said \\\"hi\\\"\"");
  EXPECT_EQ(ember::json_escape("C:\\runs"), "\"C:\\\\runs\"");
  EXPECT_EQ(ember::json_escape("a\nb\tc\rd\be\ff"), "\"a\\nb\\tc\\rd\\be\\ff\"");
  EXPECT_EQ(ember::json_escape(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(ember::json_escape("caf\xc3\xa9 \xe2\x86\x92"), "\"caf\xc3\xa9 \xe2\x86\x92\"");
}

TEST(CommonJson, NumbersRoundTrip) {
  std::vector<double> values = {0.0, 1.0, -1.0, 0.1, 1.0 / 3, 2.0 / 3, 1e-300, 5e-324,
                                1.7976931348623157e308, 123456789.123456789, 0.9812, 1e-3};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    // Random bit patterns cover every exponent; skip the non-finite ones.
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof(v));
    if (std::isfinite(v)) values.push_back(v);
  }
  for (double v : values) {
    std::string text = ember::json_value(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
  EXPECT_EQ(ember::json_value(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(ember::json_value(-std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(ember::json_value(std::numeric_limits<int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(ember::json_value(static_cast<size_t>(60000)), "60000");
  EXPECT_EQ(ember::json_value(0.5f), "0.5");
  EXPECT_EQ(ember::json_value(true), "true");
}

TEST(CommonJson, ObjectTextKeepsOrderAndNestsArrays) {
  ember::JsonObject metrics;
  metrics.set("model", "mlp \"small\"")
      .set("epochs", 2)
      .set("test_accuracy", 0.9812)
      .set("converged", false)
      .set("val_loss", std::vector<double>{0.31, 0.22})
      .set("confusion", std::vector<std::vector<int64_t>>{{5, 1}, {0, 7}})
      .set("classes", std::vector<std::string>{"cat", "dog"})
      .set("diverged_loss", std::nan(""));
  metrics.set("epochs", 3);  // replaces the value, keeps the position
  EXPECT_EQ(metrics.size(), 8u);
  EXPECT_TRUE(metrics.has("confusion"));
  EXPECT_FALSE(metrics.has("nope"));
  EXPECT_EQ(metrics.to_string(),
            "{\n"
            "  \"model\": \"mlp \\\"small\\\"\",\n"
            "  \"epochs\": 3,\n"
            "  \"test_accuracy\": 0.9812,\n"
            "  \"converged\": false,\n"
            "  \"val_loss\": [0.31, 0.22],\n"
            "  \"confusion\": [[5, 1], [0, 7]],\n"
            "  \"classes\": [\"cat\", \"dog\"],\n"
            "  \"diverged_loss\": null\n"
            "}\n");
  EXPECT_EQ(ember::JsonObject().to_string(), "{}\n");
}

TEST(CommonJson, SaveWritesAtomically) {
  std::string folder = fresh_folder("json");
  ember::JsonObject metrics;
  metrics.set("step", 100);
  metrics.save(folder + "/metrics.json");
  metrics.set("step", 200).save(folder + "/metrics.json");
  EXPECT_EQ(ember::read_file(folder + "/metrics.json"), "{\n  \"step\": 200\n}\n");
  EXPECT_EQ(folder_entries(folder), std::vector<std::string>{"metrics.json"});
}

// ---- csv --------------------------------------------------------------------------------------

TEST(CommonCsv, ExactTextWithHeaderNumbersAndQuoting) {
  std::string path = fresh_folder("csv") + "/history.csv";
  {
    ember::CsvWriter history(path, {"step", "train_loss", "note"});
    history.write_text_row({"0", "2.3026", "start"});
    history.write_row({300, 0.4213, 1e-5});
    history.write_text_row({"600", "0.25", "lr, halved \"early\""});
    // Flushed row by row: the file is complete while the writer is still open.
    EXPECT_EQ(ember::read_file(path),
              "step,train_loss,note\n"
              "0,2.3026,start\n"
              "300,0.4213,1e-05\n"
              "600,0.25,\"lr, halved \"\"early\"\"\"\n");
    std::string message = error_of([&] { history.write_row({1, 2}); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("3 columns but the row has 2 cells"), std::string::npos) << message;
  }
  EXPECT_EQ(ember::csv_escape("a\nb"), "\"a\nb\"");
  EXPECT_EQ(ember::csv_escape("plain"), "plain");
}

TEST(CommonCsv, AppendContinuesAResumedRun) {
  std::string path = fresh_folder("csv_append") + "/history.csv";
  {
    ember::CsvWriter first(path, {"step", "loss"});
    first.write_row({1, 0.5});
  }
  {
    ember::CsvWriter resumed(path, {"step", "loss"}, /*append=*/true);
    resumed.write_row({2, 0.25});
  }
  EXPECT_EQ(ember::read_file(path), "step,loss\n1,0.5\n2,0.25\n");

  std::string message = error_of([&] { ember::CsvWriter other(path, {"step", "acc"}, true); });
  EXPECT_NE(message.find("header is 'step,loss'"), std::string::npos) << message;
  EXPECT_EQ(ember::read_file(path), "step,loss\n1,0.5\n2,0.25\n");  // untouched

  {
    ember::CsvWriter fresh(path, {"step", "acc"});  // no append: replaced
  }
  EXPECT_EQ(ember::read_file(path), "step,acc\n");

  std::string new_path = fresh_folder("csv_append_new") + "/h.csv";
  {
    ember::CsvWriter appended_new(new_path, {"a"}, true);  // nothing to continue: starts fresh
    appended_new.write_row({7});
  }
  EXPECT_EQ(ember::read_file(new_path), "a\n7\n");
}

TEST(CommonCsv, OpenErrorNamesThePath) {
  std::string path = fresh_folder("csv_error") + "/missing/history.csv";
  std::string message = error_of([&] { ember::CsvWriter w(path, {"a"}); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

}  // namespace test_common_files
