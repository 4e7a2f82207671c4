// Fills one pprof Profile message while keeping its cross-references right:
// strings, functions and locations are stored once each and referred to by
// index or id, as profile.proto requires.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "reporter/pprof/profile.pb.h"

namespace leaktrace::reporter::pprof {

// One source line of a location, innermost inline frame first.
struct LineInfo {
  std::string function;  // name shown to people; never empty
  std::string file;      // empty when unknown
  int64_t line = 0;      // 0 when unknown
  int64_t column = 0;
};

// Not thread-safe. `profile` must outlive the builder and must not be changed
// by anything else while the builder is in use.
class ProfileBuilder {
 public:
  // Puts "" at string_table[0].
  explicit ProfileBuilder(perftools::profiles::Profile& profile);

  // Index of `s` in string_table, adding it on first use; "" is 0.
  int64_t String(std::string_view s);

  // Adds a mapping and returns its id (1, 2, ...). has_* start false.
  uint64_t AddMapping(uint64_t memory_start, uint64_t memory_limit, uint64_t file_offset,
                      std::string_view filename, std::string_view build_id);
  perftools::profiles::Mapping& MappingById(uint64_t id);

  // The location for (mapping_id, address, scope), added with `lines` the
  // first time. `scope` separates equal addresses that mean different code
  // (addresses in no mapping, from different processes); pass 0 otherwise.
  uint64_t Location(uint64_t mapping_id, uint64_t address, uint64_t scope, const std::vector<LineInfo>& lines);

  // Adds `values` to the sample with this stack and these labels (one sample
  // per distinct pair), so equal stacks from several dumps become one sample.
  // `values` must have one entry per sample type.
  void AddSample(const std::vector<uint64_t>& location_ids,
                 const std::vector<std::pair<std::string, std::string>>& labels,
                 const std::vector<double>& values);

  // Writes the accumulated samples into the profile, each value rounded to
  // the nearest integer; samples whose values all round to 0 are left out.
  // Call once, after the last AddSample.
  void FinishSamples();

 private:
  uint64_t Function(const LineInfo& line);

  perftools::profiles::Profile& profile_;
  std::unordered_map<std::string, int64_t> strings_;
  std::map<std::tuple<int64_t, int64_t>, uint64_t> functions_;  // (name, file) -> id
  std::map<std::tuple<uint64_t, uint64_t, uint64_t>, uint64_t> locations_;
  using SampleKey = std::pair<std::vector<uint64_t>, std::vector<std::pair<std::string, std::string>>>;
  std::map<SampleKey, std::vector<double>> samples_;  // ordered: stable output
};

}  // namespace leaktrace::reporter::pprof
