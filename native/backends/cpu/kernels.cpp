// ISA-neutral pieces of the kernel interface.
#include "kernels.h"

namespace omni::cpu {

size_t act_row_bytes(ActFormat f, int64_t k) {
  switch (f) {
    case ACT_F32: return (size_t)k * sizeof(float);
    case ACT_Q8_32: return (size_t)(k / 32) * sizeof(act_q8_32);
    case ACT_Q8_256: return (size_t)(k / 256) * sizeof(act_q8_256);
    default: return 0;
  }
}

}  // namespace omni::cpu
