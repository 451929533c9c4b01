// Declared parameters: the one place a model's or a method's hyper-parameter is written (name,
// type, default, bounds, meaning), in the manner of XGBoost's DMLC_DECLARE_PARAMETER. ModelSpec
// (models/model_spec.h) validates specs against them and reads their defaults; registries keep
// them next to each factory, so --help and the generated reference come from the same table.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace recpress {

// No upper bound.
inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

// One declared hyper-parameter of a model (or method): the single place its name, type, default,
// bounds and meaning are written. Parsing, validation, defaults, --help and the generated
// reference (docs/recipes.md, "Model parameters") all read it.
struct ParamDecl {
  enum class Kind { kInt, kReal, kText };
  std::string name;
  Kind kind = Kind::kInt;
  std::string default_value;  // as written in a spec; "" for a default derived from another key
  double min = -kUnbounded, max = kUnbounded;
  bool min_open = false, max_open = false;
  std::vector<std::string> choices;  // text: the allowed values (empty: any)
  std::string doc;

  std::string type_text() const;   // "integer", "number", "bce or ce" (the choices), "text"
  std::string range_text() const;  // ">= 1", "[0, 1)", "" for none

  // `text` read as this parameter's type and checked against its bounds or choices; Error
  // "NAME must be >= 1, got 0" otherwise (the caller prefixes where it came from).
  std::int64_t int_value(const std::string& text) const;
  double real_value(const std::string& text) const;
  const std::string& text_value(const std::string& text) const;
  void check(const std::string& text) const;  // whichever of the three the kind says
};
using ParamDecls = std::vector<ParamDecl>;

ParamDecl int_param(std::string name, std::int64_t fallback, std::int64_t min, std::string doc);
ParamDecl real_param(std::string name, double fallback, double min, double max, bool min_open,
                     bool max_open, std::string doc);
ParamDecl text_param(std::string name, std::string fallback, std::vector<std::string> choices,
                     std::string doc);
// "dim=32, layers=3" (the defaults), for one-line help.
std::string params_summary(const ParamDecls& decls);

}  // namespace recpress
