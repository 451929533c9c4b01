#include "train/checkpoint.h"

#include <cstring>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/hash.h"

namespace recpress {
namespace {
constexpr char kMagic[8] = {'R', 'P', 'C', 'K', 'v', '1', '\n', '\0'};

void put_u64(std::string& out, std::uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

bool get_u64(const std::string& in, std::size_t& pos, std::uint64_t& v) {
  if (in.size() < pos + sizeof v) return false;
  std::memcpy(&v, in.data() + pos, sizeof v);
  pos += sizeof v;
  return true;
}
}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  const std::string header = c.header.dump();
  std::string out(kMagic, sizeof kMagic);
  put_u64(out, header.size());
  out += header;
  put_u64(out, c.archive.size());
  out += c.archive;
  Fnv1a h;
  h.add(out.data(), out.size());
  put_u64(out, h.value());
  write_file_atomic(path, out);
}

Checkpoint read_checkpoint(const std::string& path) {
  const std::string bytes = read_file(path);
  auto bad = [&](const std::string& why) {
    return DataError(path, 0, "", "not a usable checkpoint: " + why);
  };
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw bad("wrong magic (not a recpress checkpoint)");
  }
  if (bytes.size() < sizeof kMagic + 3 * sizeof(std::uint64_t)) throw bad("truncated");
  std::size_t pos = sizeof kMagic;
  std::uint64_t header_len = 0, archive_len = 0, stored = 0;
  if (!get_u64(bytes, pos, header_len) || header_len > bytes.size() - pos)
    throw bad("truncated header");
  Checkpoint c;
  const std::string header = bytes.substr(pos, header_len);
  pos += header_len;
  if (!get_u64(bytes, pos, archive_len) || archive_len > bytes.size() - pos)
    throw bad("truncated weights");
  c.archive = bytes.substr(pos, archive_len);
  pos += archive_len;
  const std::size_t body = pos;
  if (!get_u64(bytes, pos, stored) || pos != bytes.size()) throw bad("truncated or trailing bytes");
  Fnv1a h;
  h.add(bytes.data(), body);
  if (h.value() != stored) throw bad("checksum mismatch (corrupt file)");
  try {
    c.header = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    throw bad(std::string("bad header: ") + e.what());
  }
  return c;
}

}  // namespace recpress
