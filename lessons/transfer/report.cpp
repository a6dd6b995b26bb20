// The lesson's results: the table, transfer.png (the lecture's picture: accuracy against the
// amount of labelled data, a line per regime) and the learning curves.
#include <cmath>
#include <cstdio>

#include "lessons/common/plot.h"
#include "lessons/transfer/lesson.h"

namespace ember::transfer {

std::string shots_name(int64_t shots) { return shots == 0 ? "all" : std::to_string(shots); }

namespace {

const RunResult* find_result(const std::vector<RunResult>& results, int64_t shots, const std::string& regime) {
  for (const RunResult& r : results)
    if (r.shots == shots && r.regime == regime) return &r;
  return nullptr;
}

}  // namespace

std::string results_table(const std::vector<RunResult>& results, const std::vector<int64_t>& shots,
                          const std::vector<std::string>& regimes) {
  std::string table = "test accuracy on the digits (time of the run)\n  shots/class  images ";
  for (const std::string& regime : regimes) {
    char cell[40];
    std::snprintf(cell, sizeof cell, "%18s", regime.c_str());
    table += cell;
  }
  table += "\n";
  for (int64_t s : shots) {
    int64_t images = 0;
    for (const std::string& regime : regimes)
      if (const RunResult* r = find_result(results, s, regime)) images = r->images;
    char row[64];
    std::snprintf(row, sizeof row, "  %11s  %6lld ", shots_name(s).c_str(), static_cast<long long>(images));
    table += row;
    for (const std::string& regime : regimes) {
      const RunResult* r = find_result(results, s, regime);
      char cell[40];
      if (r != nullptr)
        std::snprintf(cell, sizeof cell, "%10.4f (%4.0fs)", r->test_accuracy, r->seconds);
      else
        std::snprintf(cell, sizeof cell, "%18s", "-");
      table += cell;
    }
    table += "\n";
  }
  return table;
}

void save_transfer_plot(const std::string& path, const std::vector<RunResult>& results,
                        const std::vector<std::string>& regimes, const std::string& title) {
  LinePlot plot(title, "labelled images per class, log10 (1 = 10, 2 = 100, 3 = 1000)", "test accuracy");
  for (const std::string& regime : regimes) {
    std::vector<double> x, y;
    for (const RunResult& r : results) {
      if (r.regime != regime || r.images <= 0) continue;
      x.push_back(std::log10(static_cast<double>(r.images) / 10.0));  // per class: 10 classes
      y.push_back(r.test_accuracy);
    }
    plot.add_series(regime, x, y);
  }
  plot.save(path, 900, 450);
}

void save_transfer_curves(const std::string& path, const std::vector<RunResult>& results,
                          const std::vector<int64_t>& shots, const std::vector<std::string>& regimes) {
  std::vector<LinePlot> panels;
  for (int64_t s : shots) {
    LinePlot panel(shots_name(s) + " per class", "step", "validation accuracy");
    for (const std::string& regime : regimes) {
      const RunResult* r = find_result(results, s, regime);
      if (r == nullptr) continue;
      std::vector<double> x, y;
      for (const CurvePoint& p : r->curve) {
        x.push_back(static_cast<double>(p.step));
        y.push_back(p.val_accuracy);
      }
      panel.add_series(regime, x, y);
    }
    panels.push_back(panel);
  }
  save_learning_curves(path, "validation accuracy while training (the same steps for every regime)", panels,
                       static_cast<int>(420 * panels.size()), 400);
}

}  // namespace ember::transfer
