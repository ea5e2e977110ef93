// The engine's handle on one backend instance: the C vtable plus its state, with each op
// wrapped so a failure becomes an exception carrying the backend's message. Backends other
// than the built-in CPU one are shared libraries opened at run time (see open_backend).
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "omni/backend.h"

namespace omni {

struct BackendError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Backend {
 public:
  Backend(const omni_backend_vtable* vt, omni_backend* handle, void* library);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const omni_backend_vtable& ops() const { return *vt_; }
  omni_backend* handle() const { return b_; }
  std::string describe() const { return vt_->describe(b_); }
  // Throws BackendError with the backend's message when an op returned non-zero.
  void check(int rc, const char* op) const;

  float* alloc_floats(size_t count);
  void free(void* p);

  // Brackets one forward pass (the backend's begin_pass/end_pass) for as long as it lives.
  class PassScope {
   public:
    explicit PassScope(const Backend& be) : be_(be) {
      if (be_.vt_->begin_pass) be_.vt_->begin_pass(be_.b_);
    }
    ~PassScope() {
      if (be_.vt_->end_pass) be_.vt_->end_pass(be_.b_);
    }
    PassScope(const PassScope&) = delete;
    PassScope& operator=(const PassScope&) = delete;

   private:
    const Backend& be_;
  };

 private:
  const omni_backend_vtable* vt_;
  omni_backend* b_;
  void* library_;
};

// "cpu" is built in; any other name is looked up as libomni_<name>.so in the directories
// of `search_path` (colon-separated). Throws BackendError saying what was tried.
std::unique_ptr<Backend> open_backend(const std::string& name, const omni_backend_options& options,
                                      const std::string& search_path);

struct BackendProbe {
  std::string name;
  bool available;
  std::string detail;  // description when available, otherwise why not
};
// What is usable here: the CPU backend plus every libomni_*.so found on the search path.
std::vector<BackendProbe> probe_backends(const std::string& search_path);

}  // namespace omni
