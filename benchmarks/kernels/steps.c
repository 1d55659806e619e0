/* One kernel call per step of each 32-bit kind, for llvm-mca (see counts.sh). */
#define FI_RUN_NAME fi_run_x
#include "fi_kernels_impl.h"
__attribute__((noinline)) void step_raw(const fi_rkeys *K, uint64_t b, const tf_params *t, void *out) { step32(FI_U, FI_KIND_RAW, K, 5, b, t, out); }
__attribute__((noinline)) void step_uniform(const fi_rkeys *K, uint64_t b, const tf_params *t, void *out) { step32(FI_U, FI_KIND_UNIFORM, K, 5, b, t, out); }
__attribute__((noinline)) void step_normal(const fi_rkeys *K, uint64_t b, const tf_params *t, void *out) { step32(FI_U, FI_KIND_NORMAL, K, 5, b, t, out); }
__attribute__((noinline)) void step_truncnorm(const fi_rkeys *K, uint64_t b, const tf_params *t, void *out) { step32(FI_U, FI_KIND_TRUNCNORM, K, 5, b, t, out); }
