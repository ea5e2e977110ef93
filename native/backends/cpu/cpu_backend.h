// The CPU backend's table (linked into the engine; always available).
#pragma once
#include "omni/backend.h"

const omni_backend_vtable* omni_cpu_backend();
