// Results as JSON (every number with its protocol, split, seed and data checksum) and as a table.
#pragma once

#include <string>
#include <vector>

#include "eval/evaluator.h"

namespace recpress {

// JSON text of one result.
std::string result_to_json(const EvalResult& result, int indent = 2);
// Fixed-width table: one row per result, one column per metric (in the order of the first result).
std::string results_table(const std::vector<EvalResult>& results);

}  // namespace recpress
