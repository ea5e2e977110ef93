#include "gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "quant.h"

namespace omni {

class MappedFile {
 public:
  MappedFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw GgufError(path + ": cannot open: " + std::strerror(errno));
    struct stat st;
    if (fstat(fd_, &st) != 0) throw GgufError(path + ": cannot stat: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw GgufError(path + ": not a regular file");
    size_ = (uint64_t)st.st_size;
    if (size_ == 0) throw GgufError(path + ": file is empty, not a GGUF model");
    void* p = mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) throw GgufError(path + ": cannot map: " + std::strerror(errno));
    data_ = static_cast<const uint8_t*>(p);
  }
  ~MappedFile() {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

namespace {

// Reads little-endian values from the mapped header, never past its end.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& path) : p_(data), size_(size), path_(path) {}
  uint64_t pos() const { return pos_; }

  void need(uint64_t n, const char* what) const {
    if (n > size_ - pos_)
      throw GgufError(path_ + ": file is truncated (reading " + what + " at byte " + std::to_string(pos_) +
                      ", file has " + std::to_string(size_) + " bytes)");
  }
  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    const uint64_t n = read<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }
  void read_bytes(void* dst, uint64_t n, const char* what) {
    need(n, what);
    std::memcpy(dst, p_ + pos_, n);
    pos_ += n;
  }

 private:
  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& path_;
};

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_BOOL: return 1;
    case GGUF_UINT16: case GGUF_INT16: return 2;
    case GGUF_UINT32: case GGUF_INT32: case GGUF_FLOAT32: return 4;
    case GGUF_UINT64: case GGUF_INT64: case GGUF_FLOAT64: return 8;
    default: return 0;
  }
}

const char* value_type_name(uint32_t t) {
  static const char* names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                "bool", "string", "array", "uint64", "int64", "float64"};
  return t < 13 ? names[t] : "unknown";
}

void read_scalar(Cursor& c, GgufValueType t, GgufValue& v) {
  v.type = t;
  switch (t) {
    case GGUF_UINT8: v.u = c.read<uint8_t>("value"); v.i = (int64_t)v.u; break;
    case GGUF_INT8: v.i = c.read<int8_t>("value"); v.u = (uint64_t)v.i; break;
    case GGUF_UINT16: v.u = c.read<uint16_t>("value"); v.i = (int64_t)v.u; break;
    case GGUF_INT16: v.i = c.read<int16_t>("value"); v.u = (uint64_t)v.i; break;
    case GGUF_UINT32: v.u = c.read<uint32_t>("value"); v.i = (int64_t)v.u; break;
    case GGUF_INT32: v.i = c.read<int32_t>("value"); v.u = (uint64_t)v.i; break;
    case GGUF_UINT64: v.u = c.read<uint64_t>("value"); v.i = (int64_t)v.u; break;
    case GGUF_INT64: v.i = c.read<int64_t>("value"); v.u = (uint64_t)v.i; break;
    case GGUF_FLOAT32: v.f = c.read<float>("value"); break;
    case GGUF_FLOAT64: v.f = c.read<double>("value"); break;
    case GGUF_BOOL: v.b = c.read<uint8_t>("value") != 0; v.i = v.b; break;
    case GGUF_STRING: v.s = c.read_string("string value"); break;
    default: break;
  }
}

void read_value(Cursor& c, GgufValueType t, GgufValue& v, const std::string& key, const std::string& path,
                int depth) {
  if (t > GGUF_FLOAT64)
    throw GgufError(path + ": metadata key '" + key + "' has unknown value type " + std::to_string(t));
  if (t != GGUF_ARRAY) return read_scalar(c, t, v);
  if (depth > 8) throw GgufError(path + ": metadata key '" + key + "' nests arrays too deeply");
  v.type = GGUF_ARRAY;
  const uint32_t item_type = c.read<uint32_t>("array type");
  if (item_type > GGUF_FLOAT64)
    throw GgufError(path + ": metadata key '" + key + "' is an array of unknown type " + std::to_string(item_type));
  v.item_type = (GgufValueType)item_type;
  v.count = c.read<uint64_t>("array length");
  // Every item takes at least one byte: an absurd count is a truncated file, not an allocation.
  c.need(v.count, "array items");
  if (const size_t sz = scalar_size(v.item_type)) {
    if (v.count > UINT64_MAX / sz) throw GgufError(path + ": metadata key '" + key + "' array is too large");
    v.raw.resize(v.count * sz);
    c.read_bytes(v.raw.data(), v.raw.size(), "array items");
  } else if (v.item_type == GGUF_STRING) {
    v.strings.reserve(v.count);
    for (uint64_t k = 0; k < v.count; k++) v.strings.push_back(c.read_string("array string"));
  } else {
    v.items.resize(v.count);
    for (uint64_t k = 0; k < v.count; k++) read_value(c, v.item_type, v.items[k], key, path, depth + 1);
  }
}

}  // namespace

bool GgufValue::is_integer() const {
  switch (type) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_UINT16: case GGUF_INT16: case GGUF_UINT32:
    case GGUF_INT32: case GGUF_UINT64: case GGUF_INT64: case GGUF_BOOL: return true;
    default: return false;
  }
}
bool GgufValue::is_number() const { return is_integer() || type == GGUF_FLOAT32 || type == GGUF_FLOAT64; }
int64_t GgufValue::as_int() const { return is_integer() ? i : (int64_t)f; }
double GgufValue::as_double() const { return is_integer() ? (double)i : f; }

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  file->map_ = std::make_unique<MappedFile>(path);
  file->parse();
  return file;
}

GgufFile::~GgufFile() = default;

uint64_t GgufFile::file_size() const { return map_->size(); }

void GgufFile::fail(const std::string& what) const { throw GgufError(path_ + ": " + what); }

void GgufFile::parse() {
  Cursor c(map_->data(), map_->size(), path_);
  if (map_->size() < 4 || std::memcmp(map_->data(), "GGUF", 4) != 0) {
    fail("not a GGUF file (bad magic: expected 'GGUF' at the start)");
  }
  c.read<uint32_t>("magic");
  version_ = c.read<uint32_t>("version");
  if (version_ == 1) fail("GGUF version 1 is too old; convert the model again with a recent llama.cpp");
  if (version_ != 2 && version_ != 3) fail("unsupported GGUF version " + std::to_string(version_) + " (2 and 3 are supported)");
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Each key/value and tensor entry takes more than 8 bytes: bound the counts by the file size.
  if (n_kv > map_->size() / 8 || n_tensors > map_->size() / 8)
    fail("file is truncated or its header is corrupt: it declares " + std::to_string(n_kv) + " metadata entries and " +
         std::to_string(n_tensors) + " tensors in " + std::to_string(map_->size()) + " bytes");

  kv_.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; k++) {
    std::string key = c.read_string("metadata key");
    const uint32_t t = c.read<uint32_t>("metadata value type");
    GgufValue v;
    read_value(c, (GgufValueType)t, v, key, path_, 0);
    if (kv_index_.count(key)) fail("duplicate metadata key '" + key + "'");
    kv_index_[key] = kv_.size();
    kv_.emplace_back(std::move(key), std::move(v));
  }

  if (const GgufValue* a = find("general.alignment")) {
    if (!a->is_integer() || a->as_int() <= 0 || (a->as_int() & (a->as_int() - 1)) != 0)
      fail("general.alignment must be a power of two");
    alignment_ = (uint64_t)a->as_int();
  }

  tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; k++) {
    GgufTensorInfo t;
    t.name = c.read_string("tensor name");
    t.n_dims = c.read<uint32_t>("tensor dimensions");
    if (t.n_dims == 0 || t.n_dims > 4) fail("tensor '" + t.name + "' has " + std::to_string(t.n_dims) + " dimensions (1 to 4 allowed)");
    for (uint32_t d = 0; d < t.n_dims; d++) {
      const uint64_t n = c.read<uint64_t>("tensor shape");
      if (n == 0 || n > (1ull << 40)) fail("tensor '" + t.name + "' has an invalid dimension " + std::to_string(n));
      t.dims[d] = (int64_t)n;
    }
    t.type = c.read<uint32_t>("tensor type");
    t.offset = c.read<uint64_t>("tensor offset");
    const TypeTraits& tt = type_traits(t.type);
    if (!tt.name) fail("tensor '" + t.name + "' has unknown type id " + std::to_string(t.type));
    if (!tt.supported) fail("tensor '" + t.name + "' has type " + tt.name + ", which Omni does not support yet");
    if (t.dims[0] % tt.block_elems != 0)
      fail("tensor '" + t.name + "' row of " + std::to_string(t.dims[0]) + " values is not a whole number of " + tt.name + " blocks");
    const double approx = (double)t.dims[0] * t.dims[1] * t.dims[2] * t.dims[3];
    if (approx > 1e13) fail("tensor '" + t.name + "' is impossibly large");
    t.bytes = row_bytes(t.type, t.dims[0]) * (uint64_t)(t.dims[1] * t.dims[2] * t.dims[3]);
    if (t.offset % alignment_ != 0) fail("tensor '" + t.name + "' data offset is not aligned to " + std::to_string(alignment_));
    if (tensor_index_.count(t.name)) fail("duplicate tensor '" + t.name + "'");
    tensor_index_[t.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  const uint64_t data_start = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  for (GgufTensorInfo& t : tensors_) {
    const uint64_t end = data_start + t.offset + t.bytes;
    if (t.offset > map_->size() || end > map_->size() || end < data_start)
      fail("tensor '" + t.name + "' data lies outside the file (file truncated? it needs " + std::to_string(end) +
           " bytes, the file has " + std::to_string(map_->size()) + ")");
    t.file_offset = data_start + t.offset;
    t.data = map_->data() + t.file_offset;
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensorInfo* GgufFile::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail("missing metadata key '" + key + "'");
  if (v->type != GGUF_STRING) fail("metadata key '" + key + "' should be a string, it is " + value_type_name(v->type));
  return v->s;
}
std::string GgufFile::get_string(const std::string& key, const std::string& fallback) const {
  return find(key) ? get_string(key) : fallback;
}
int64_t GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail("missing metadata key '" + key + "'");
  if (!v->is_integer()) fail("metadata key '" + key + "' should be an integer, it is " + value_type_name(v->type));
  return v->as_int();
}
int64_t GgufFile::get_int(const std::string& key, int64_t fallback) const {
  return find(key) ? get_int(key) : fallback;
}
double GgufFile::get_float(const std::string& key, double fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) fail("metadata key '" + key + "' should be a number, it is " + value_type_name(v->type));
  return v->as_double();
}
bool GgufFile::get_bool(const std::string& key, bool fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (v->type != GGUF_BOOL) fail("metadata key '" + key + "' should be a bool, it is " + value_type_name(v->type));
  return v->b;
}

void GgufFile::advise_willneed() const {
  madvise(const_cast<uint8_t*>(map_->data()), map_->size(), MADV_WILLNEED);
}

}  // namespace omni
