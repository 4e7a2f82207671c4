#include "preload/internal/health.h"

namespace leaktrace::preload {

HealthCounters g_health;

}  // namespace leaktrace::preload
