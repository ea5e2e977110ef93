// Which kernel table this CPU runs: detection (cpuid + xgetbv, so an OS that does not save
// AVX/AVX-512 state counts as not having them) and the OMNI_ISA override.
#pragma once
#include <string>

#include "kernels.h"

namespace omni::cpu {

// The best level this CPU and OS support: "avx512", "avx2" or "scalar".
const char* best_isa();

// The table for a level by name ("scalar", "avx2", "avx512"); nullptr when the name is
// unknown or this CPU cannot run that level.
const KernelTable* kernels_by_name(const char* isa);

// The table to use: OMNI_ISA=scalar|avx2|avx512 when set (an unknown value, or a level this
// CPU lacks, is an error: *error gets the message and the best available table is returned),
// otherwise the best level available.
const KernelTable& select_kernels(std::string* error);

}  // namespace omni::cpu
