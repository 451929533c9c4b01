#include "pipeline/report.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/format.h"

namespace recpress::pipeline {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

std::string label_of(const json& row) {
  std::string s = row["model"].get<std::string>();
  if (row["method"] != "none") s += " + " + row["method"].get<std::string>();
  const std::string teachers = row.value("teachers", std::string());
  if (teachers.find(" + ") != std::string::npos) s += " (from " + teachers + ")";
  return s;
}

std::string method_of(const json& row) {
  const std::string teachers = row.value("teachers", std::string());
  std::string m = row["method"].get<std::string>();
  if (teachers.find(" + ") != std::string::npos) m += " from " + teachers;
  return m;
}

// The metric columns: the task's (results.json from before tasks: the monitor and HR@10).
std::vector<std::string> metric_columns(const json& results) {
  if (results.contains("report_metrics"))
    return results["report_metrics"].get<std::vector<std::string>>();
  std::vector<std::string> out = {results["monitor"].get<std::string>()};
  if (out.front() != "HR@10") out.push_back("HR@10");
  return out;
}

std::string gnuplot_quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) out += c == '"' ? std::string("\\\"") : std::string(1, c);
  return out + "\"";
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A table as rows of cells; the first row is the header.
using Table = std::vector<std::vector<std::string>>;

std::string markdown(const Table& t) {
  std::ostringstream o;
  for (std::size_t r = 0; r < t.size(); ++r) {
    o << "|";
    for (const auto& c : t[r]) o << " " << c << " |";
    o << "\n";
    if (r == 0) {
      o << "|";
      for (std::size_t c = 0; c < t[r].size(); ++c) o << "---|";
      o << "\n";
    }
  }
  return o.str();
}

std::string html(const Table& t) {
  std::ostringstream o;
  o << "<div class=\"scroll\"><table>\n";
  for (std::size_t r = 0; r < t.size(); ++r) {
    o << "<tr>";
    for (const auto& c : t[r])
      o << (r == 0 ? "<th>" : "<td>") << html_escape(c) << (r == 0 ? "</th>" : "</td>");
    o << "</tr>\n";
  }
  o << "</table></div>\n";
  return o.str();
}

Table accuracy_table(const json& results) {
  const auto columns = metric_columns(results);
  Table t = {{"role", "model", "method"}};
  for (const auto& c : columns) t[0].push_back(c);
  for (const char* c :
       {"params", "bytes", "kept", "vs alone", "gap closed", "best epoch", "s/epoch", "seeds"})
    t[0].push_back(c);
  auto metric = [](const json& row, const std::string& name) {
    if (!row["test"].contains(name)) return std::string("-");
    const auto& m = row["test"][name];
    std::string s = fixed(m["mean"].get<double>(), 4);
    if (row["seeds"].get<int>() > 1) s += " ± " + fixed(m["std"].get<double>(), 4);
    return s;
  };
  auto optional_percent = [](const json& row, const char* key, bool sign) {
    if (!row.contains(key)) return std::string("-");
    return sign ? signed_percent(row[key].get<double>()) : percent(row[key].get<double>());
  };
  for (const auto& row : results["summary"]) {
    std::vector<std::string> cells = {row["role"], row["model"], method_of(row)};
    for (const auto& c : columns) cells.push_back(metric(row, c));
    const int improving = row.value("still_improving", 0);
    for (auto cell :
         {with_commas(row["parameters"].get<std::int64_t>()),
          human_bytes(row["bytes"].get<double>()), optional_percent(row, "kept_percent", false),
          optional_percent(row, "vs_alone_percent", true),
          optional_percent(row, "gap_closed_percent", false),
          fixed(row["best_epoch"].get<double>(), 1) + (improving > 0 ? " †" : ""),
          fixed(row["seconds_per_epoch"].get<double>(), 2),
          std::to_string(row["seeds"].get<int>())})
      cells.push_back(cell);
    t.push_back(cells);
  }
  return t;
}

Table efficiency_table(const json& results) {
  const std::string monitor = results["monitor"];
  double teacher_p50 = 0;
  bool rows_per_second = false;
  for (const auto& e : results["efficiency"]) {
    if (e["role"] == "teacher") teacher_p50 = e["runs"][0]["p50_us"].get<double>();
    for (const auto& r : e["runs"])
      rows_per_second = rows_per_second || r.contains("rows_per_second");
  }
  bool seen = false;
  for (const auto& e : results["efficiency"])
    for (const auto& r : e["runs"]) seen = seen || r.value("seen_bytes", 0.0) > 0;
  Table t = {{"model", "engine / dtype", "file"}};
  if (seen) t[0].push_back("of which seen items");
  for (const char* c : {"FLOPs/item", "", "p50 us", "p99 us", "p50 vs teacher"}) t[0].push_back(c);
  t[0][t[0].size() - 4] = monitor + " as shipped";
  if (rows_per_second) t[0].push_back("rows/s (batched)");
  for (const auto& e : results["efficiency"]) {
    for (const auto& r : e["runs"]) {
      if (r.contains("error")) continue;
      const bool teacher = e["role"] != "student";
      // Records from before tasks carry no engine: the teacher ran in LibTorch, students in the
      // runtime.
      const std::string engine = r.value("engine", std::string(teacher ? "libtorch" : "runtime"));
      const std::string dtype = r.value("dtype", std::string("fp32"));
      std::vector<std::string> cells = {e["role"].get<std::string>() + " " + label_of(e),
                                        (engine == "libtorch" ? "LibTorch " : "runtime ") + dtype,
                                        human_bytes(r["file_bytes"].get<double>())};
      if (seen)
        cells.push_back(r.value("seen_bytes", 0.0) > 0 ? human_bytes(r["seen_bytes"].get<double>())
                                                       : "-");
      for (auto cell :
           {r.contains("flops_per_item") && r["flops_per_item"].get<double>() > 0
                ? with_commas(static_cast<std::int64_t>(r["flops_per_item"].get<double>()))
                : std::string("-"),
            r.contains("test") && r["test"].contains(monitor)
                ? fixed(r["test"][monitor].get<double>(), 4)
                : "-",
            fixed(r["p50_us"].get<double>(), 1), fixed(r["p99_us"].get<double>(), 1),
            teacher ? std::string("-")
                    : times(teacher_p50, r["p50_us"].get<double>(), "faster", "slower")})
        cells.push_back(cell);
      if (rows_per_second)
        cells.push_back(r.contains("rows_per_second") ? with_commas(static_cast<std::int64_t>(
                                                            r["rows_per_second"].get<double>()))
                                                      : "-");
      t.push_back(cells);
    }
  }
  return t;
}

// The recipe's other test protocols (e.g. full ranking): the task's metric columns under each.
// The student search (recipe `search`): every candidate, its size, the rungs it ran and whether
// it is on the accuracy-size front; empty without a search.
Table search_table(const json& results) {
  if (!results.contains("search") || !results["search"].is_object()) return {};
  const auto& search = results["search"];
  Table t = {{"candidate", "params", "bytes (" + search["dtype"].get<std::string>() + ")", "p50 us",
              "in budget", "validation by rung (epochs: score)", "front", "chosen"}};
  for (const auto& c : search["candidates"]) {
    std::string rungs;
    for (const auto& r : c["rungs"])
      rungs += (rungs.empty() ? "" : ", ") + std::to_string(r["epochs"].get<int>()) + ": " +
               fixed(r["valid"].get<double>(), 4);
    t.push_back({c["model"].get<std::string>(), with_commas(c["parameters"].get<std::int64_t>()),
                 human_bytes(c["bytes"].get<double>()),
                 c.contains("p50_us") ? fixed(c["p50_us"].get<double>(), 1) : "-",
                 c["within_budget"].get<bool>() ? "yes" : "no", rungs.empty() ? "-" : rungs,
                 c.value("front", false) ? "yes" : "-",
                 c["model"] == search["chosen"] ? "yes" : "-"});
  }
  return t;
}

std::string search_note(const json& results) {
  const auto& s = results["search"];
  std::ostringstream o;
  o << "Successive halving (keep the best 1/" << s["eta"].get<int>() << ", " << s["eta"].get<int>()
    << "x the epochs) under `" << s["method"].get<std::string>() << "` on seed "
    << s["seed"].get<int>() << ", budget "
    << (s["budget_bytes"].get<double>() > 0 ? human_bytes(s["budget_bytes"].get<double>())
                                            : std::string("none"))
    << (s.value("budget_us", 0.0) > 0 ? ", " + fixed(s["budget_us"].get<double>(), 1) + " us p50"
                                      : std::string())
    << "; the search took " << fixed(s["seconds"].get<double>(), 1)
    << " s; the chosen candidate is trained with the students above.";
  return o.str();
}

Table other_protocols_table(const json& results) {
  const auto protocols = results.value("extra_protocols", json::array());
  if (protocols.empty()) return {};
  const auto columns = metric_columns(results);
  Table t = {{"role", "model", "method"}};
  for (const auto& p : protocols)
    for (const auto& c : columns) t[0].push_back(c + " " + p.get<std::string>());
  for (const auto& row : results["summary"]) {
    std::vector<std::string> cells = {row["role"], row["model"], method_of(row)};
    for (const auto& p : protocols)
      for (const auto& c : columns) {
        const json by = row.value("test_by_protocol", json::object());
        const std::string name = p.get<std::string>();
        if (!by.contains(name) || !by[name].contains(c)) {
          cells.push_back("-");
          continue;
        }
        std::string v = fixed(by[name][c]["mean"].get<double>(), 4);
        if (row["seeds"].get<int>() > 1) v += " ± " + fixed(by[name][c]["std"].get<double>(), 4);
        cells.push_back(v);
      }
    t.push_back(cells);
  }
  return t;
}

// The models no other beats with fewer or as many parameters: "params value" lines by size.
std::string pareto_front(const json& results, const std::string& monitor) {
  std::vector<std::pair<double, double>> points;
  for (const auto& row : results["summary"])
    if (row["test"].contains(monitor))
      points.emplace_back(row["parameters"].get<double>(),
                          row["test"][monitor]["mean"].get<double>());
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  });
  std::ostringstream o;
  double best = -1;
  for (const auto& [params, value] : points) {
    if (value <= best) continue;
    best = value;
    o << params << " " << value << "\n";
  }
  return o.str();
}

// The plots' data and gnuplot scripts; returns the SVG files made (empty without gnuplot).
std::vector<std::string> make_plots(const json& results, const fs::path& dir) {
  fs::create_directories(dir);
  const std::string monitor = results["monitor"];
  const std::string header =
      "set terminal svg size 760,440 dynamic font 'sans,11' noenhanced\nset grid\n"
      "set key outside right top\n";
  // The legend entry of every plotted series, per plot: gnuplot's SVG names its groups
  // "gnuplot_plot_N", which a reader sees as tooltips; they are renamed after drawing.
  std::map<std::string, std::vector<std::string>> legends;
  // 1. Accuracy vs size: one point per summary row (error bars: the std over seeds), each its
  // own legend entry (labels on the plot collided for students of equal size), the x axis fitted
  // to the sizes, and the Pareto front drawn solid.
  {
    std::ostringstream d, s;
    std::vector<std::string> series;
    double lo = 0, hi = 0;
    for (const auto& row : results["summary"]) {
      if (!row["test"].contains(monitor)) continue;
      const double params = row["parameters"].get<double>();
      lo = series.empty() ? params : std::min(lo, params);
      hi = series.empty() ? params : std::max(hi, params);
      const auto& m = row["test"][monitor];
      d << params << " " << m["mean"].get<double>() << " " << m["std"].get<double>() << "\n\n\n";
      const std::string role = row["role"];
      const int point = role == "teacher" ? 7 : role == "baseline" ? 5 : 9;
      series.push_back("'pareto.dat' index " + std::to_string(series.size()) + " using 1:2" +
                       (row["seeds"].get<int>() > 1 ? ":3 with yerrorbars" : " with points") +
                       " pt " + std::to_string(point) + " ps 1.6 lc " +
                       std::to_string(series.size() + 1) + " title " +
                       gnuplot_quote(role + " " + label_of(row)));
      legends["pareto"].push_back(role + " " + label_of(row));
    }
    legends["pareto"].insert(legends["pareto"].begin(),
                             "Pareto front (the best at this size or smaller)");
    write_file_atomic((dir / "pareto.dat").string(), d.str());
    write_file_atomic((dir / "front.dat").string(), pareto_front(results, monitor));
    const std::size_t height = 330 + 18 * series.size();
    s << "set terminal svg size 900," << height
      << " dynamic font 'sans,11' noenhanced\nset grid\nset key outside below left Left "
         "reverse maxrows "
      << series.size() + 1 << " font ',10'\nset output 'pareto.svg'\nset logscale x\n"
      << "set xrange [" << lo / 2 << ":" << hi * 2 << "]\nset xlabel 'parameters'\nset ylabel '"
      << monitor << " (test, " << results["protocol"].get<std::string>()
      << ")'\nset title 'accuracy vs model size'\nset offsets 0, 0, graph 0.08, graph 0.08\n"
      << "plot 'front.dat' using 1:2 with steps lw 2 lc rgb '#555555' dt 2 title 'Pareto front "
         "(the best at this size or smaller)'";
    for (const auto& one : series) s << ", " << one;
    s << "\n";
    write_file_atomic((dir / "pareto.gp").string(), s.str());
  }
  // 2. Validation curves of the first seed.
  {
    std::ostringstream d, s;
    std::vector<std::string> titles;
    const auto first_seed = results["seeds"][0];
    for (const auto& run : results["runs"]) {
      if (run["seed"] != first_seed || run["history"].empty()) continue;
      titles.push_back(run["role"].get<std::string>() + " " + label_of(run));
      for (const auto& h : run["history"])
        d << h["epoch"].get<int>() << " " << h["valid"].get<double>() << "\n";
      d << "\n\n";
    }
    legends["curves"] = titles;
    write_file_atomic((dir / "curves.dat").string(), d.str());
    s << header << "set output 'curves.svg'\nset xlabel 'epoch'\nset ylabel 'validation " << monitor
      << "'\nset title 'training curves (seed " << first_seed.dump() << ")'\nplot ";
    for (std::size_t i = 0; i < titles.size(); ++i)
      s << (i ? ", " : "") << "'curves.dat' index " << i << " with linespoints title "
        << gnuplot_quote(titles[i]);
    s << "\n";
    write_file_atomic((dir / "curves.gp").string(), s.str());
  }
  // 3. Latency: horizontal bars (labels read left of them), one colour per engine / dtype, the
  // teacher first; x on a log scale fitted to the values.
  {
    std::map<std::string, std::vector<std::pair<int, double>>> groups;  // engine -> (row, p50)
    std::vector<std::string> labels;
    double lo = 0, hi = 0;
    for (const auto& e : results["efficiency"])
      for (const auto& r : e["runs"]) {
        if (r.contains("error")) continue;
        const std::string engine = r.value("engine", std::string("runtime")) == "libtorch"
                                       ? "LibTorch " + r.value("dtype", std::string("fp32"))
                                       : "runtime " + r.value("dtype", std::string("fp32"));
        const double p50 = r["p50_us"].get<double>();
        lo = labels.empty() ? p50 : std::min(lo, p50);
        hi = labels.empty() ? p50 : std::max(hi, p50);
        groups[engine].emplace_back(static_cast<int>(labels.size()), p50);
        labels.push_back(e["role"].get<std::string>() + " " + label_of(e) + " (" + engine + ")");
      }
    std::ostringstream d, s;
    std::size_t widest = 10;
    for (const auto& l : labels) widest = std::max(widest, l.size());
    s << "set terminal svg size " << 520 + 7 * widest << "," << 160 + 26 * labels.size()
      << " dynamic font 'sans,11' noenhanced\nset output 'latency.svg'\nset grid x\n"
      << "set logscale x\nset xrange [" << lo / 2 << ":" << hi * 2 << "]\nset yrange ["
      << static_cast<double>(labels.size()) - 0.4 << ":-0.6]\nset lmargin " << widest + 2
      << "\nset xlabel 'p50 microseconds per query'\nset ytics (";
    for (std::size_t i = 0; i < labels.size(); ++i)
      s << (i ? ", " : "") << gnuplot_quote(labels[i]) << " " << i;
    // The query description goes on a second title line: as the x label it ran off the plot.
    s << ") font ',10'\nset title "
      << gnuplot_quote("latency: teacher vs shipped students\\n(" +
                       results.value("efficiency_query", std::string("one thread")) + ")")
      << "\n"
      << "set style fill solid 0.75 border -1\nset key outside below\nplot ";
    int block = 0;
    for (const auto& [engine, rows] : groups) {
      for (const auto& [row, p50] : rows) d << row << " " << p50 << "\n";
      d << "\n\n";
      s << (block ? ", " : "") << "'latency.dat' index " << block << " using (sqrt(" << lo / 2
        << "*$2)):1:(" << lo / 2 << "):2:($1-0.35):($1+0.35) with boxxyerror title "
        << gnuplot_quote(engine);
      legends["latency"].push_back(engine);
      ++block;
    }
    s << "\n";
    write_file_atomic((dir / "latency.dat").string(), d.str());
    write_file_atomic((dir / "latency.gp").string(), s.str());
  }
  // 4. The student search's candidates: validation score at their last rung against their
  // shipped bytes, the front solid (recipe `search`).
  std::vector<std::string> names = {"pareto", "curves", "latency"};
  if (results.contains("search") && results["search"].is_object()) {
    const auto& search = results["search"];
    std::ostringstream d, f, s;
    for (const auto& c : search["candidates"]) {
      if (!c.contains("score")) continue;
      d << c["bytes"].get<double>() << " " << c["score"].get<double>() << " "
        << gnuplot_quote(c["model"].get<std::string>()) << "\n";
      if (c.value("front", false))
        f << c["bytes"].get<double>() << " " << c["score"].get<double>() << "\n";
    }
    write_file_atomic((dir / "search.dat").string(), d.str());
    write_file_atomic((dir / "search-front.dat").string(), f.str());
    s << header << "set output 'search.svg'\nset logscale x\nset offsets graph 0.1, graph 0.1, "
      << "graph 0.1, graph 0.1\nset xlabel 'bytes shipped (" << search["dtype"].get<std::string>()
      << ")'\nset ylabel 'validation " << monitor << " at the last rung'\nset title "
      << gnuplot_quote("student search: candidates and their front (" +
                       search["method"].get<std::string>() + ", chose " +
                       search["chosen"].get<std::string>() + ")")
      << "\nplot 'search-front.dat' using 1:2 with steps lw 2 lc rgb '#555555' dt 2 title "
         "'front', 'search.dat' using 1:2 with points pt 7 ps 1.4 title 'candidates', "
         "'search.dat' using 1:2:3 with labels offset 0,1 font ',9' notitle\n";
    write_file_atomic((dir / "search.gp").string(), s.str());
    legends["search"] = {"front", "candidates"};
    names.push_back("search");
  }
  std::vector<std::string> made;
  if (!gnuplot_available()) return made;
  for (const auto& name : names) {
    const std::string cmd = "cd '" + dir.string() + "' && gnuplot " + name + ".gp > /dev/null 2>&1";
    const fs::path svg = dir / (name + ".svg");
    if (std::system(cmd.c_str()) != 0 || !fs::exists(svg)) continue;
    std::string text = read_text(svg);
    const auto& titles = legends[name];
    for (std::size_t k = 0; k < titles.size(); ++k) {
      const std::string generic = "<title>gnuplot_plot_" + std::to_string(k + 1) + "</title>";
      const auto at = text.find(generic);
      if (at != std::string::npos)
        text.replace(at, generic.size(), "<title>" + html_escape(titles[k]) + "</title>");
    }
    write_file_atomic(svg.string(), text);
    made.push_back(name + ".svg");
  }
  return made;
}

std::string shipped_title(const json& results) {
  return "Shipped (" +
         results.value("efficiency_query",
                       std::string("runtime, one thread, full-catalog top-10 for one user")) +
         ")";
}

// The learning rates the study tuned, and the skipped grid points, as Markdown lines.
std::string lr_note(const json& results) {
  std::ostringstream o;
  std::map<std::string, std::string> chosen;
  if (!results.value("lr_tuning", json::array()).empty())
    for (const auto& row : results["summary"])
      chosen[row["role"].get<std::string>() + " " + label_of(row)] = fixed(row.value("lr", 0.0), 4);
  if (!chosen.empty()) {
    o << "\nLearning rates (tuned on the first seed's validation where several were given):";
    for (const auto& [who, lr] : chosen) o << " " << who << " " << lr << ";";
    o << "\n";
  }
  std::set<std::string> skipped;  // once per grid point, not per seed
  for (const auto& s : results.value("skipped", json::array()))
    skipped.insert(s["model"].get<std::string>() + " + " + s["method"].get<std::string>() + " (" +
                   s["reason"].get<std::string>() + ")");
  for (const auto& s : skipped) o << "\nSkipped: " << s << "\n";
  return o.str();
}

}  // namespace

bool gnuplot_available() {
  return std::system("gnuplot --version > /dev/null 2>&1") == 0;
}

namespace {

// One study's report: its heading line, Markdown body and HTML body (plots inline). `plot_link`:
// how the Markdown links a plot file (relative to where the Markdown is written).
struct StudySection {
  std::string title, description, about, markdown, html;
};

StudySection study_section(const json& results, const fs::path& dir, const std::string& plot_link,
                           const std::string& heading) {
  const auto plots = make_plots(results, dir / "plots");
  const Table accuracy = accuracy_table(results), efficiency = efficiency_table(results),
              others = other_protocols_table(results);
  const auto& d = results["data"];
  std::ostringstream data_text;
  for (const auto& [key, value] : d.items()) {
    if (key == "name") continue;
    data_text << (data_text.tellp() > 0 ? ", " : "") << key << " "
              << (value.is_string()           ? value.get<std::string>()
                  : value.is_number_integer() ? with_commas(value.get<std::int64_t>())
                                              : fixed(value.get<double>(), 3));
  }
  std::ostringstream about;
  about << "task " << results.value("task", std::string("topn")) << "; data "
        << d["name"].get<std::string>() << " (" << data_text.str() << "); split "
        << results["split"].get<std::string>() << "; protocol "
        << results["protocol"].get<std::string>() << "; seeds " << results["seeds"].dump()
        << "; RecPress " << results["versions"]["recpress"].get<std::string>() << " (commit "
        << results["git_commit"].get<std::string>() << "), LibTorch "
        << results["versions"]["libtorch"].get<std::string>() << ", BLAS "
        << results["versions"]["blas"].get<std::string>() << "; "
        << results["created"].get<std::string>();
  StudySection s;
  s.title = "RecPress study: " + results["recipe"].get<std::string>();
  s.description = results["description"].get<std::string>();
  s.about = about.str();
  const std::string plot_note =
      plots.empty() ? "Plots skipped: gnuplot was not found (install gnuplot-nox); their data and "
                      "scripts are in plots/.\n"
                    : "";
  const std::string legend =
      "kept: share of the teacher's " + results["monitor"].get<std::string>() +
      "; vs alone: change against the same student trained without a teacher; gap closed: "
      "(student - alone) / (teacher - alone); † : a run's best epoch was its last (still "
      "improving when it stopped: raise `epochs`).";
  const std::string others_title = "Other test protocols";
  std::ostringstream md;
  md << "\n"
     << heading << " Teacher vs students (test, " << results["protocol"].get<std::string>()
     << ")\n\n"
     << markdown(accuracy) << "\n"
     << legend << "\n"
     << lr_note(results) << "\n";
  if (!others.empty()) md << heading << " " << others_title << "\n\n" << markdown(others) << "\n";
  const Table search = search_table(results);
  if (!search.empty())
    md << heading << " Student search\n\n"
       << markdown(search) << "\n"
       << search_note(results) << "\n\n";
  md << heading << " " << shipped_title(results) << "\n\n" << markdown(efficiency) << "\n";
  if (plots.empty()) md << plot_note;
  for (const auto& p : plots) md << "![" << p << "](" << plot_link << p << ")\n\n";
  s.markdown = md.str();
  const std::string tag = heading.size() <= 2 ? "h2" : "h3";
  std::ostringstream h;
  h << "<p class=\"about\">" << html_escape(s.about) << "</p>\n<" << tag
    << ">Teacher vs students (test, " << html_escape(results["protocol"].get<std::string>())
    << ")</" << tag << ">\n"
    << html(accuracy) << "<p class=\"legend\">" << html_escape(legend) << "</p>\n";
  if (!others.empty())
    h << "<" << tag << ">" << others_title << "</" << tag << ">\n" << html(others);
  if (!search.empty())
    h << "<" << tag << ">Student search</" << tag << ">\n"
      << html(search) << "<p class=\"legend\">" << html_escape(search_note(results)) << "</p>\n";
  h << "<" << tag << ">" << html_escape(shipped_title(results)) << "</" << tag << ">\n"
    << html(efficiency);
  if (plots.empty()) h << "<p>" << html_escape(plot_note) << "</p>\n";
  for (const auto& p : plots) {
    std::string svg = read_text(dir / "plots" / p);
    const auto start = svg.find("<svg");
    h << "<figure>" << (start == std::string::npos ? "" : svg.substr(start)) << "</figure>\n";
  }
  s.html = h.str();
  return s;
}

std::string html_page(const std::string& title, const std::string& body) {
  std::ostringstream h;
  h << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" << html_escape(title)
    << "</title>\n<style>body{font-family:sans-serif;max-width:1280px;margin:2em auto;color:#222}"
       "table{border-collapse:collapse;margin:1em 0;font-size:90%}td,th{border:1px solid #ccc;"
       "padding:3px "
       "7px;text-align:right;white-space:nowrap}.scroll{overflow-x:auto}th{background:#f0f0f0}td:"
       "first-child,td:nth-child(2),td:nth-child(3){"
       "text-align:left}.about,.legend{color:#555;font-size:90%}svg{max-width:100%;height:auto}</"
       "style>"
       "</head><body>\n<h1>"
    << html_escape(title) << "</h1>\n"
    << body << "</body></html>\n";
  return h.str();
}

}  // namespace

void write_report(const json& results, const std::string& folder) {
  const fs::path dir(folder);
  const StudySection s = study_section(results, dir, "plots/", "##");
  write_file_atomic((dir / "report.md").string(),
                    "# " + s.title + "\n\n" +
                        (s.description.empty() ? "" : s.description + "\n\n") + s.about + "\n" +
                        s.markdown);
  write_file_atomic(
      (dir / "report.html").string(),
      html_page(
          s.title,
          (s.description.empty() ? "" : "<p>" + html_escape(s.description) + "</p>\n") + s.html));
}

void write_combined_report(
    const std::string& title, const std::string& intro,
    const std::vector<std::pair<nlohmann::ordered_json, std::string>>& studies,
    const std::string& folder) {
  const fs::path dir(folder);
  std::ostringstream md, h;
  md << "# " << title << "\n\n" << intro << "\n";
  h << "<p>" << html_escape(intro) << "</p>\n";
  for (const auto& [results, study_folder] : studies) {
    const std::string link = fs::relative(fs::path(study_folder) / "plots", dir).string() + "/";
    const StudySection s = study_section(results, study_folder, link, "###");
    md << "\n## " << s.description << "\n\n" << s.about << "\n" << s.markdown;
    h << "<h2>" << html_escape(s.description) << "</h2>\n" << s.html;
  }
  write_file_atomic((dir / "report.md").string(), md.str());
  write_file_atomic((dir / "report.html").string(), html_page(title, h.str()));
}

}  // namespace recpress::pipeline
