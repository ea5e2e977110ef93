// GGUF (v2, v3) reader over a read-only memory map: metadata of every value type, the
// tensor index, and pointers into the mapped file for tensor data (weights are never copied).
// Every malformed input throws GgufError with a message naming the file and the problem.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace omni {

struct GgufError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum GgufValueType : uint32_t {
  GGUF_UINT8 = 0, GGUF_INT8 = 1, GGUF_UINT16 = 2, GGUF_INT16 = 3, GGUF_UINT32 = 4,
  GGUF_INT32 = 5, GGUF_FLOAT32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9,
  GGUF_UINT64 = 10, GGUF_INT64 = 11, GGUF_FLOAT64 = 12,
};

// One metadata value. Scalars keep their GGUF type; arrays hold items of one type (arrays
// of arrays are allowed). Large numeric arrays stay as raw little-endian bytes.
struct GgufValue {
  GgufValueType type = GGUF_UINT8;
  // scalars
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;
  // arrays
  GgufValueType item_type = GGUF_UINT8;
  uint64_t count = 0;
  std::vector<uint8_t> raw;         // numeric/bool items, packed
  std::vector<std::string> strings; // string items
  std::vector<GgufValue> items;     // array items

  bool is_integer() const;
  bool is_number() const;
  int64_t as_int() const;   // any integer or bool scalar
  double as_double() const; // any number
};

struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  int64_t dims[4] = {1, 1, 1, 1};  // ne0 (innermost, a row) first
  uint32_t type = 0;
  uint64_t offset = 0;       // relative to the data section
  uint64_t file_offset = 0;  // from the start of the file
  uint64_t bytes = 0;
  const uint8_t* data = nullptr;
  int64_t elements() const { return dims[0] * dims[1] * dims[2] * dims[3]; }
};

class MappedFile;

class GgufFile {
 public:
  // Opens and validates the file: header, metadata, tensor index, and that every tensor's
  // data lies inside the file.
  static std::unique_ptr<GgufFile> open(const std::string& path);
  ~GgufFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const;
  uint64_t alignment() const { return alignment_; }
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  const GgufValue* find(const std::string& key) const;
  const GgufTensorInfo* tensor(const std::string& name) const;

  // Typed getters: throw GgufError naming the key when it is absent (no default given) or
  // of the wrong type.
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;

  // Advises the kernel the weights will be read (prefetch) or keeps the default.
  void advise_willneed() const;

 private:
  GgufFile() = default;
  void parse();
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  std::unique_ptr<MappedFile> map_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace omni
