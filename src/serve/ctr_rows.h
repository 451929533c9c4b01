// Rows of raw CTR field values from JSON ({"user": "42", "genres": ["Comedy", "Drama"], "year":
// 1995}) encoded for a CTR model file (runtime/ctr_model.h), for `POST /predict` and
// `recpress predict`. A field the row leaves out or sets to null is missing (as a missing value
// in training: the token "<missing>", no tokens, or NaN); a field the model does not read, a
// value of the wrong type, or a value its field cannot take is an error naming the field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/features.h"

namespace recpress::serve {

class RowError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EncodedRows {
  std::size_t rows = 0;
  std::vector<std::int32_t> ids;  // rows x slots
  std::vector<float> values;      // rows x dense
  // Per row: the fields whose given value is not in the vocabulary (encoded as the field's OOV
  // bucket, exactly as training encodes an unseen value).
  std::vector<std::vector<std::string>> oov;
};

// Appends one JSON object as a row. Throws RowError ("field 'year': expected a number, got
// 'abc'"); `out` is unchanged then.
void append_json_row(const runtime::FeatureEncoder& features, const nlohmann::json& row,
                     EncodedRows& out);
// The same from values already split into text cells (a CSV line under a header): `columns[c]`
// is the input index of cell c; empty cells are missing; multi-hot cells split on '|'.
void append_text_row(const runtime::FeatureEncoder& features, const std::vector<int>& columns,
                     const std::vector<std::string_view>& cells, EncodedRows& out);

// A list of the model's input fields and their kinds, for error messages and /healthz:
// "user (categorical), genres (multi), year (numeric)".
std::string describe_inputs(const runtime::FeatureEncoder& features);

}  // namespace recpress::serve
