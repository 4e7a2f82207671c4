// Growth between two reports: what grew, and from where.
#pragma once

#include "reporter/model.h"

namespace leaktrace::reporter {

// A kGrowth report: per site key, after minus before (bytes and count;
// variances add, the two estimates being treated as independent, which only
// overstates the noise). Sites whose growth is zero are left out; sites that
// shrank are kept with negative figures. Sorted with SortSites.
Report Diff(const Report& before, const Report& after);

}  // namespace leaktrace::reporter
