// Tests of lessons/common/progress: the progress line of a training loop.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "core/error.h"
#include "lessons/common/progress.h"

TEST(CommonProgress, FormatDuration) {
  EXPECT_EQ(ember::format_duration(0), "0:00");
  EXPECT_EQ(ember::format_duration(42), "0:42");
  EXPECT_EQ(ember::format_duration(42.4), "0:42");
  EXPECT_EQ(ember::format_duration(59.6), "1:00");  // rounded, never "0:60"
  EXPECT_EQ(ember::format_duration(605), "10:05");
  EXPECT_EQ(ember::format_duration(3599), "59:59");
  EXPECT_EQ(ember::format_duration(3600), "1:00:00");
  EXPECT_EQ(ember::format_duration(3723), "1:02:03");
  EXPECT_EQ(ember::format_duration(90000), "25:00:00");
  EXPECT_EQ(ember::format_duration(-1), "?:??");
  EXPECT_EQ(ember::format_duration(NAN), "?:??");
  EXPECT_EQ(ember::format_duration(INFINITY), "?:??");
}

TEST(CommonProgress, LineLayout) {
  EXPECT_EQ(ember::format_progress_line("epoch 1/2", 300, 1875, {{"loss", 0.42131}, {"acc", 0.871}},
                                        2950.4, "img/s", 42),
            "epoch 1/2  step 300/1875  loss 0.4213  acc 0.871  2950 img/s  ETA 0:42");
  // No prefix, integer and text fields, a slow rate, an unknown rate.
  EXPECT_EQ(ember::format_progress_line("", 5, 10, {{"tokens", 4096}, {"phase", "warmup"}}, 12.345,
                                        "tok/s", 3725),
            "step 5/10  tokens 4096  phase warmup  12.3 tok/s  ETA 1:02:05");
  EXPECT_EQ(ember::format_progress_line("", 1, 2, {}, -1, "img/s", 0), "step 1/2  ETA 0:00");
}

TEST(CommonProgress, PrintsEveryNStepsAndAtTheEnd) {
  std::ostringstream out;
  ember::Progress progress(5, 2, "img/s", out);
  progress.set_prefix("epoch 1/1");
  std::vector<bool> printed;
  for (int i = 0; i < 5; ++i) printed.push_back(progress.step(32, {{"loss", 1.0 / (i + 1)}}));
  EXPECT_EQ(printed, (std::vector<bool>{false, true, false, true, true}));
  EXPECT_EQ(progress.steps_done(), 5);
  EXPECT_GE(progress.elapsed_seconds(), 0.0);

  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << out.str();
  EXPECT_EQ(lines[0].rfind("epoch 1/1  step 2/5  loss 0.5  ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("epoch 1/1  step 4/5  loss 0.25  ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("epoch 1/1  step 5/5  loss 0.2  ", 0), 0u) << lines[2];
  EXPECT_NE(lines[0].find(" img/s  ETA "), std::string::npos) << lines[0];
  EXPECT_NE(lines[2].find("ETA 0:00"), std::string::npos) << lines[2];  // nothing left
}

TEST(CommonProgress, RejectsNonsenseSettings) {
  EXPECT_THROW(ember::Progress(0, 1), ember::Error);
  EXPECT_THROW(ember::Progress(10, 0), ember::Error);
}
