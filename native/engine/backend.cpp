#include "backend.h"

#include <dirent.h>
#include <dlfcn.h>

#include <sstream>

#include "cpu_backend.h"

namespace omni {

Backend::Backend(const omni_backend_vtable* vt, omni_backend* handle, void* library)
    : vt_(vt), b_(handle), library_(library) {}

Backend::~Backend() {
  vt_->shutdown(b_);
  if (library_) dlclose(library_);
}

void Backend::check(int rc, const char* op) const {
  if (rc != 0) throw BackendError(std::string(vt_->name) + " backend: " + op + " failed: " + vt_->last_error(b_));
}

float* Backend::alloc_floats(size_t count) {
  void* p = vt_->alloc(b_, count * sizeof(float));
  if (!p) throw BackendError(std::string(vt_->name) + " backend: out of memory allocating " + std::to_string(count * 4) + " bytes");
  return static_cast<float*>(p);
}

void Backend::free(void* p) {
  if (p) vt_->free(b_, p);
}

namespace {

std::vector<std::string> split_path(const std::string& search_path) {
  std::vector<std::string> dirs;
  std::stringstream ss(search_path);
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty()) dirs.push_back(dir);
  return dirs;
}

// Opens libomni_<name>.so and checks its table; returns the table or throws.
const omni_backend_vtable* load_library(const std::string& name, const std::string& search_path, void** library) {
  std::string tried;
  for (const std::string& dir : split_path(search_path)) {
    const std::string file = dir + "/libomni_" + name + ".so";
    void* lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      tried += "\n  " + file + ": " + dlerror();
      continue;
    }
    auto get = reinterpret_cast<omni_backend_get_fn>(dlsym(lib, OMNI_BACKEND_ENTRY));
    const omni_backend_vtable* vt = get ? get() : nullptr;
    if (!vt || vt->abi_version != OMNI_BACKEND_ABI_VERSION) {
      dlclose(lib);
      tried += "\n  " + file + ": not an Omni backend of ABI version " + std::to_string(OMNI_BACKEND_ABI_VERSION);
      continue;
    }
    *library = lib;
    return vt;
  }
  throw BackendError("backend '" + name + "' was not found" +
                     (tried.empty() ? std::string(" (no search directories)") : ":" + tried) +
                     "\nThe CPU backend is always available.");
}

}  // namespace

std::unique_ptr<Backend> open_backend(const std::string& name, const omni_backend_options& options,
                                      const std::string& search_path) {
  void* library = nullptr;
  const omni_backend_vtable* vt = name == "cpu" ? omni_cpu_backend() : load_library(name, search_path, &library);
  char error[512] = {0};
  omni_backend* handle = vt->init(&options, error, sizeof(error));
  if (!handle) {
    if (library) dlclose(library);
    throw BackendError(name + " backend failed to start: " + error);
  }
  return std::make_unique<Backend>(vt, handle, library);
}

std::vector<BackendProbe> probe_backends(const std::string& search_path) {
  std::vector<BackendProbe> found;
  auto probe = [&](const std::string& name) {
    try {
      omni_backend_options options{1, 0};
      auto b = open_backend(name, options, search_path);
      found.push_back({name, true, b->describe()});
    } catch (const std::exception& e) {
      found.push_back({name, false, e.what()});
    }
  };
  probe("cpu");
  for (const std::string& dir : split_path(search_path)) {
    DIR* d = opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = readdir(d)) {
      std::string file = e->d_name;
      const std::string prefix = "libomni_", suffix = ".so";
      if (file.size() > prefix.size() + suffix.size() && file.compare(0, prefix.size(), prefix) == 0 &&
          file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0)
        probe(file.substr(prefix.size(), file.size() - prefix.size() - suffix.size()));
    }
    closedir(d);
  }
  return found;
}

}  // namespace omni
