// The study report: report.md (tables), report.html (self-contained: tables and the SVG plots
// inline) and plots/ (gnuplot scripts, their data and SVGs): accuracy vs model size (one point per
// teacher / student x method), validation curves per epoch, and latency of the teacher in LibTorch
// against the shipped student per dtype in the runtime. Without gnuplot the report says so and
// keeps the tables.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace recpress::pipeline {

// Writes folder/report.md, folder/report.html and folder/plots/ from results.json's content.
void write_report(const nlohmann::ordered_json& results, const std::string& folder);

// True when `gnuplot` runs on this machine.
bool gnuplot_available();

}  // namespace recpress::pipeline
