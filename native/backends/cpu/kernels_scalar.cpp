// The portable kernel table: plain C++ for every entry (the fallback, and the baseline the
// vector levels are tested against).
#include "kernels_common.h"

namespace omni::cpu {

const KernelTable& kernels_scalar() {
  static const KernelTable table = scalar_table("scalar");
  return table;
}

}  // namespace omni::cpu
