/* The portable path: baseline x86-64 (SSE2) or any other architecture. */
#define FI_RUN_NAME fi_run_generic
#include "fi_kernels_impl.h"
