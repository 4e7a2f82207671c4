// Adds up sites that share a key: within one dump, and across the dumps of
// several processes (the workers of one server) or runs of one build.
#pragma once

#include <vector>

#include "reporter/model.h"

namespace leaktrace::reporter {

// Sites with equal keys added up (figures and variances), keeping the first
// occurrence's frames; the result is sorted with SortSites.
std::vector<Site> CombineSites(std::vector<Site> sites);

// One kLive report of all inputs (which must all be kLive). Exact only if
// every input is.
Report Merge(std::vector<Report> reports);

}  // namespace leaktrace::reporter
