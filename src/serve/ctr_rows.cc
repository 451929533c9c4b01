#include "serve/ctr_rows.h"

#include <deque>

namespace recpress::serve {

namespace {

using runtime::RawValue;

// Encodes `raw` (one value per input) into a new row of `out`, with its OOV fields: a sparse,
// non-hashed field with a given value whose slots hold its OOV id.
void append_encoded(const runtime::FeatureEncoder& features, const std::vector<RawValue>& raw,
                    const std::vector<bool>& given, EncodedRows& out) {
  const std::size_t slots = features.slots(), dense = features.dense();
  std::vector<std::int32_t> ids(slots);
  std::vector<float> values(dense);
  try {
    features.encode(raw, ids.data(), values.data());
  } catch (const runtime::FeatureError& e) {
    throw RowError(e.what());
  }
  std::vector<std::string> oov;
  const auto& fields = features.fields();
  for (std::size_t f = 0; f < fields.size(); ++f) {
    const auto& field = fields[f];
    if (field.kind == runtime::FeatureKind::kDense || field.kind == runtime::FeatureKind::kCross ||
        field.hashed)
      continue;
    const int input = features.input_index(field.name);
    if (input < 0 || !given[static_cast<std::size_t>(input)]) continue;
    const auto& at = features.placements()[f];
    for (std::uint32_t s = 0; s < field.slots; ++s) {
      if (ids[at.first_slot + s] == static_cast<std::int32_t>(at.offset)) {
        oov.push_back(field.name);
        break;
      }
    }
  }
  out.ids.insert(out.ids.end(), ids.begin(), ids.end());
  out.values.insert(out.values.end(), values.begin(), values.end());
  out.oov.push_back(std::move(oov));
  ++out.rows;
}

}  // namespace

std::string describe_inputs(const runtime::FeatureEncoder& features) {
  std::string out;
  for (const auto& input : features.inputs())
    out +=
        (out.empty() ? "" : ", ") + input.name + " (" + runtime::input_kind_name(input.kind) + ")";
  return out;
}

void append_json_row(const runtime::FeatureEncoder& features, const nlohmann::json& row,
                     EncodedRows& out) {
  if (!row.is_object())
    throw RowError(std::string("a row must be a JSON object of field values, got ") +
                   row.type_name());
  const std::size_t n = features.inputs().size();
  std::vector<RawValue> raw(n);
  std::vector<bool> given(n, false);
  std::vector<std::vector<std::string_view>> lists(n);
  std::deque<std::string> numbers_as_text;  // tokens printed from numbers in lists (stable)
  for (const auto& [name, value] : row.items()) {
    const int input = features.input_index(name);
    if (input < 0)
      throw RowError("unknown field '" + name + "' (the model reads " + describe_inputs(features) +
                     ")");
    const auto k = static_cast<std::size_t>(input);
    const auto wrong = [&](const std::string& what) {
      return RowError("field '" + name + "': " + what + ", got " + value.dump());
    };
    if (value.is_null()) continue;
    given[k] = true;
    if (value.is_string()) {
      raw[k] = RawValue::of_text(value.get_ref<const std::string&>());
    } else if (value.is_number()) {
      raw[k] = RawValue::of_number(value.get<double>());
    } else if (value.is_array()) {
      for (const auto& t : value) {
        if (t.is_string())
          lists[k].push_back(t.get_ref<const std::string&>());
        else if (t.is_number())
          lists[k].push_back(numbers_as_text.emplace_back(t.dump()));
        else
          throw wrong("a list holds strings or numbers");
      }
      raw[k] = RawValue::of_texts(lists[k]);
    } else {
      throw wrong("expected a string, a number, a list or null");
    }
  }
  append_encoded(features, raw, given, out);
}

void append_text_row(const runtime::FeatureEncoder& features, const std::vector<int>& columns,
                     const std::vector<std::string_view>& cells, EncodedRows& out) {
  const std::size_t n = features.inputs().size();
  std::vector<RawValue> raw(n);
  std::vector<bool> given(n, false);
  std::vector<std::vector<std::string_view>> lists(n);
  for (std::size_t c = 0; c < cells.size() && c < columns.size(); ++c) {
    if (columns[c] < 0 || cells[c].empty()) continue;
    const auto k = static_cast<std::size_t>(columns[c]);
    given[k] = true;
    if (features.inputs()[k].kind != runtime::InputKind::kMulti) {
      raw[k] = RawValue::of_text(cells[c]);
      continue;
    }
    std::string_view rest = cells[c];
    for (std::size_t bar; (bar = rest.find('|')) != std::string_view::npos;
         rest.remove_prefix(bar + 1))
      lists[k].push_back(rest.substr(0, bar));
    lists[k].push_back(rest);
    raw[k] = RawValue::of_texts(lists[k]);
  }
  append_encoded(features, raw, given, out);
}

}  // namespace recpress::serve
