#include "eval/protocol.h"

#include "core/errors.h"
#include "core/text_reader.h"

namespace recpress {

Protocol Protocol::parse(const std::string& text) {
  const std::string forms =
      " (expected full, sampled:uniform:N, sampled:popularity:N or file:PATH)";
  Protocol p;
  if (text == "full") return p;
  if (text.rfind("file:", 0) == 0) {
    p.kind = Kind::kFile;
    p.path = text.substr(5);
    if (p.path.empty()) throw Error("protocol '" + text + "': missing path" + forms);
    return p;
  }
  if (text.rfind("sampled:", 0) == 0) {
    std::vector<std::string_view> parts;
    split_fields(text, ':', parts);
    long long n = 0;
    if (parts.size() != 3 || (parts[1] != "uniform" && parts[1] != "popularity") ||
        !parse_int64(parts[2], n) || n < 1 || n > 100000) {
      throw Error("bad protocol '" + text + "'" + forms);
    }
    p.kind = Kind::kSampled;
    p.sampler = std::string(parts[1]);
    p.negatives = static_cast<std::int32_t>(n);
    return p;
  }
  throw Error("unknown protocol '" + text + "'" + forms);
}

std::string Protocol::to_string() const {
  switch (kind) {
    case Kind::kFull:
      return "full";
    case Kind::kSampled:
      return "sampled:" + sampler + ":" + std::to_string(negatives);
    case Kind::kFile:
      return "file:" + path;
  }
  return "?";
}

const char* to_string(EvalTarget target) {
  return target == EvalTarget::kValid ? "valid" : "test";
}

}  // namespace recpress
