#include "trace/trace-target_i386_sev_snp.h"
