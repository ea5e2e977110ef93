// A shared library that claims to be a backend of a future ABI version: the loader must
// open it, notice the version and report it, never call into it.
#include "omni/backend.h"

static const omni_backend_vtable kFuture = {OMNI_BACKEND_ABI_VERSION + 1, "fake"};

extern "C" __attribute__((visibility("default"))) const omni_backend_vtable* omni_backend_get(void) { return &kFuture; }
