// Model::open / from_bytes: the file read into private memory, then verified completely before
// any number is used (magic, version, size, checksum, the FlatBuffers verifier, every shape).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include "recpress_model_generated.h"
#include "runtime/internal.h"

namespace recpress::runtime {

std::size_t Model::file_bytes() const {
  return storage_->size;
}

namespace {

// Reads a whole regular file into 8-byte aligned words; `size` gets its length in bytes. A file
// that changes size while being read is refused (a concurrent writer; try again once it is done).
std::unique_ptr<std::uint64_t[]> read_file_aligned(const std::string& path, std::size_t& size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ModelError(path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) throw ModelError(path + ": not a regular file");
  size = static_cast<std::size_t>(st.st_size);
  const std::size_t capacity = ((size + 7) / 8 + 1) * 8;  // one spare word to see growth
  std::unique_ptr<std::uint64_t[]> words(new std::uint64_t[capacity / 8]);
  auto* out = reinterpret_cast<char*>(words.get());
  std::size_t got = 0;
  while (got < capacity) {
    const ssize_t n = ::read(fd, out + got, capacity - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ModelError(path + ": cannot read: " + std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got != size)
    throw ModelError(path + ": the file changed size while being read (" + std::to_string(size) +
                     " -> " + std::to_string(got) +
                     " bytes); write a new file and rename it over the old one");
  return words;
}

}  // namespace

std::shared_ptr<FileBytes> read_model_file(const std::string& path) {
  auto storage = std::make_shared<FileBytes>();
  storage->owned = read_file_aligned(path, storage->size);
  storage->data = reinterpret_cast<const std::uint8_t*>(storage->owned.get());
  return storage;
}

std::shared_ptr<FileBytes> copy_model_bytes(std::string_view bytes) {
  auto storage = std::make_shared<FileBytes>();
  storage->owned.reset(new std::uint64_t[(bytes.size() + 7) / 8 + 1]());
  if (!bytes.empty()) std::memcpy(storage->owned.get(), bytes.data(), bytes.size());
  storage->data = reinterpret_cast<const std::uint8_t*>(storage->owned.get());
  storage->size = bytes.size();
  return storage;
}

std::uint32_t verify_model_bytes(const FileBytes& bytes, const std::string& name) {
  auto fail = [&](const std::string& why) { return ModelError(name + ": " + why); };
  const std::uint8_t* base = bytes.data;
  const std::size_t size = bytes.size;
  if (size < kHeaderBytes)
    throw fail("truncated: " + std::to_string(size) + " bytes, a model file has at least " +
               std::to_string(kHeaderBytes));
  if (std::memcmp(base, kMagic, 8) != 0) throw fail("not a RecPress model file (bad magic)");
  const auto version = read_le<std::uint32_t>(base + 8);
  if (version < kFirstVersion || version > kFormatVersion)
    throw fail(
        "format version " + std::to_string(version) + ", this runtime reads versions " +
        std::to_string(kFirstVersion) + " to " + std::to_string(kFormatVersion) +
        (version > kFormatVersion ? " (a newer RecPress wrote it: upgrade the runtime)" : ""));
  if (read_le<std::uint32_t>(base + 12) != 0) throw fail("malformed header (reserved bytes set)");
  const auto payload_size = read_le<std::uint64_t>(base + 24);
  if (payload_size != size - kHeaderBytes)
    throw fail("truncated or extended: the header announces " + std::to_string(payload_size) +
               " bytes of model, the file has " + std::to_string(size - kHeaderBytes));
  const std::uint8_t* payload = base + kHeaderBytes;
  if (checksum(payload, payload_size) != read_le<std::uint64_t>(base + 16))
    throw fail("checksum mismatch: the file is corrupted");
  flatbuffers::Verifier verifier(payload, payload_size);
  if (!rpm::VerifyModelBuffer(verifier)) throw fail("malformed model structure");
  return version;
}

std::string model_file_task(const std::string& path) {
  const auto bytes = read_model_file(path);
  verify_model_bytes(*bytes, path);
  const rpm::Model* m = rpm::GetModel(bytes->data + kHeaderBytes);
  return m->task() != nullptr ? m->task()->str() : std::string();
}

Model Model::open(const std::string& path) {
  return parse(read_model_file(path), path);
}

Model Model::from_bytes(std::string_view bytes, const std::string& name) {
  return parse(copy_model_bytes(bytes), name);
}

Model Model::parse(std::shared_ptr<FileBytes> storage, const std::string& name) {
  auto fail = [&](const std::string& why) { return ModelError(name + ": " + why); };
  verify_model_bytes(*storage, name);
  const rpm::Model* m = rpm::GetModel(storage->data + kHeaderBytes);

  Model out;
  const std::string task = m->task() != nullptr ? m->task()->str() : std::string();
  if (task == "ctr")
    throw fail(
        "a CTR model: it predicts click probabilities for rows of field values "
        "(recpress predict, POST /predict), it does not recommend for users");
  if (task == "seq")
    throw fail(
        "a next-item model: it predicts the items after a history (recpress next, "
        "POST /next), it does not recommend for users");
  if (task != "topn") throw fail("task '" + task + "' is not supported by this runtime");
  if (m->kind() != rpm::Kind_DOT && m->kind() != rpm::Kind_NCF) throw fail("unknown model kind");
  const bool tower = m->kind() == rpm::Kind_NCF;
  const rpm::Matrix* users = m->users();
  const rpm::Matrix* items = m->items();
  if (users == nullptr || items == nullptr || users->data() == nullptr || items->data() == nullptr)
    throw fail("missing user or item vectors");
  if (users->column_major() || !items->column_major())
    throw fail("unsupported layout (users row-major, items column-major expected)");
  // DType is a signed byte: a forged negative value must be refused as well as a large one.
  if (users->dtype() != items->dtype() || users->dtype() < rpm::DType_MIN ||
      users->dtype() > rpm::DType_MAX)
    throw fail("inconsistent or unknown dtype");
  out.dtype_ = static_cast<DType>(users->dtype());
  out.dim_ = m->dim();
  if ((out.dim_ == 0 && !tower) || users->cols() != out.dim_ || items->cols() != out.dim_)
    throw fail("vector widths disagree with dim " + std::to_string(out.dim_));
  out.num_users_ = users->rows();
  out.num_items_ = items->rows();
  const std::size_t bytes = bytes_of(out.dtype_);
  std::vector<const rpm::Matrix*> embeddings = {users, items};
  if (tower) {
    const rpm::Matrix* mu = m->mlp_users();
    const rpm::Matrix* mi = m->mlp_items();
    if (mu == nullptr || mi == nullptr || mu->data() == nullptr || mi->data() == nullptr)
      throw fail("an NCF model without its tower's first layer");
    if (mu->column_major() || !mi->column_major() || mu->dtype() != users->dtype() ||
        mi->dtype() != users->dtype())
      throw fail("the tower's first layer has another layout or dtype than the embeddings");
    if (mu->rows() != out.num_users_ || mi->rows() != out.num_items_ || mu->cols() == 0 ||
        mi->cols() != mu->cols() || mu->cols() > kMaxTowerWidth)
      throw fail("the tower's first layer does not match the users, items or itself");
    embeddings.push_back(mu);
    embeddings.push_back(mi);
    out.tower_input_ = mu->cols();
  }
  for (const rpm::Matrix* x : embeddings) {
    if (x->data()->size() != static_cast<std::size_t>(x->rows()) * x->cols() * bytes)
      throw fail("a matrix holds " + std::to_string(x->data()->size()) + " bytes, its shape " +
                 std::to_string(x->rows()) + " x " + std::to_string(x->cols()) + " needs " +
                 std::to_string(static_cast<std::size_t>(x->rows()) * x->cols() * bytes));
    if (reinterpret_cast<std::uintptr_t>(x->data()->data()) % bytes != 0)
      throw fail("misaligned values");
    if (out.dtype_ == DType::kI8 && (x->scales() == nullptr || x->scales()->size() != x->rows()))
      throw fail("int8 matrix without one scale per row");
  }
  out.users_ = users->data()->data();
  out.items_ = items->data()->data();
  if (out.dtype_ == DType::kI8) {
    out.user_scales_ = users->scales()->data();
    out.item_scales_ = items->scales()->data();
    out.packed_items_ = PackedI8Items::pack(reinterpret_cast<const std::int8_t*>(out.items_),
                                            out.dim_, out.num_items_);
  }
  if (tower) {
    out.mlp_users_ = m->mlp_users()->data()->data();
    out.mlp_items_ = m->mlp_items()->data()->data();
    if (out.dtype_ == DType::kI8) {
      out.mlp_user_scales_ = m->mlp_users()->scales()->data();
      out.mlp_item_scales_ = m->mlp_items()->scales()->data();
    }
    std::uint32_t width = out.tower_input_;
    if (m->layers() != nullptr) {
      for (const rpm::Layer* l : *m->layers()) {
        const std::string which = "tower layer " + std::to_string(out.layers_.size() + 2);
        const rpm::Matrix* w = l->weight();
        if (w == nullptr || w->data() == nullptr || l->bias() == nullptr)
          throw fail(which + " is missing its weights or biases");
        if (w->dtype() != rpm::DType_F32 || w->column_major() || w->cols() != width ||
            w->rows() == 0 || w->rows() > kMaxTowerWidth || l->bias()->size() != w->rows() ||
            w->data()->size() != static_cast<std::size_t>(w->rows()) * w->cols() * 4 ||
            reinterpret_cast<std::uintptr_t>(w->data()->data()) % 4 != 0)
          throw fail(which + " does not fit the layer before it (width " + std::to_string(width) +
                     ") or is not an aligned fp32 row-major matrix with one bias per row");
        out.layers_.push_back({w->cols(), w->rows(),
                               reinterpret_cast<const float*>(w->data()->data()),
                               l->bias()->data()});
        width = w->rows();
      }
    }
    if (m->head() == nullptr || m->head()->size() != width)
      throw fail("the tower's head does not match its last layer (width " + std::to_string(width) +
                 ")");
    out.head_ = m->head()->data();
  }
  out.bias_ = m->bias();
  // Raw ids: strings in place (zero-copy), or numbers printed once into the storage.
  auto read_ids = [&](const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* strings,
                      const flatbuffers::Vector<std::int32_t>* numbers, std::uint32_t count,
                      std::vector<std::string_view>& ids) {
    if (strings != nullptr && numbers == nullptr && strings->size() == count) {
      for (const auto* s : *strings) ids.emplace_back(s->c_str(), s->size());
    } else if (strings == nullptr && numbers != nullptr && numbers->size() == count) {
      for (const auto n : *numbers)
        ids.emplace_back(storage->decoded_ids.emplace_back(std::to_string(n)));
    } else {
      throw fail("the id maps do not match the number of users and items");
    }
  };
  read_ids(m->user_ids(), m->user_numeric_ids(), out.num_users_, out.user_ids_);
  read_ids(m->item_ids(), m->item_numeric_ids(), out.num_items_, out.item_ids_);
  for (std::uint32_t u = 0; u < out.num_users_; ++u)
    if (!out.user_index_.emplace(out.user_ids_[u], u).second)
      throw fail("user id '" + std::string(out.user_ids_[u]) + "' appears twice");
  if (m->seen_offsets() != nullptr) {
    const auto* off = m->seen_offsets();
    const auto* seen = m->seen_items();
    if (seen == nullptr || off->size() != out.num_users_ + 1 || off->Get(0) != 0 ||
        off->Get(out.num_users_) != seen->size())
      throw fail("malformed seen-items table");
    for (std::uint32_t u = 0; u < out.num_users_; ++u)
      if (off->Get(u) > off->Get(u + 1)) throw fail("malformed seen-items table");
    for (const auto i : *seen)
      if (i >= out.num_items_) throw fail("seen-items table names item " + std::to_string(i));
    out.seen_offsets_ = off->data();
    out.seen_items_ = seen->data();
  }
  if (m->source_model() != nullptr) out.source_model_ = m->source_model()->str();
  if (m->metadata() != nullptr) out.metadata_ = m->metadata()->str();
  out.storage_ = std::move(storage);
  return out;
}

}  // namespace recpress::runtime
