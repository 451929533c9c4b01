// The study report: report.md (tables), report.html (self-contained: tables and the SVG plots
// inline) and plots/ (gnuplot scripts, their data and SVGs): accuracy vs model size (one point per
// teacher / student x method), validation curves per epoch, and latency of the teacher in LibTorch
// against the shipped student per dtype in the runtime. Without gnuplot the report says so and
// keeps the tables.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace recpress::pipeline {

// Writes folder/report.md, folder/report.html and folder/plots/ from results.json's content.
void write_report(const nlohmann::ordered_json& results, const std::string& folder);

// One report over several studies (the demo: top-N, CTR and next-item): folder/report.md and a
// self-contained folder/report.html with a section per study (its tables and plots); each study
// is (results.json's content, the folder it was written to).
void write_combined_report(
    const std::string& title, const std::string& intro,
    const std::vector<std::pair<nlohmann::ordered_json, std::string>>& studies,
    const std::string& folder);

// True when `gnuplot` runs on this machine.
bool gnuplot_available();

}  // namespace recpress::pipeline
