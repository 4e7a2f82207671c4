#include "reporter/pprof/profile_builder.h"

#include <cmath>

namespace leaktrace::reporter::pprof {

ProfileBuilder::ProfileBuilder(perftools::profiles::Profile& profile) : profile_(profile) {
  profile_.clear_string_table();
  String("");
}

int64_t ProfileBuilder::String(std::string_view s) {
  auto [it, added] = strings_.try_emplace(std::string(s), profile_.string_table_size());
  if (added) profile_.add_string_table(std::string(s));
  return it->second;
}

uint64_t ProfileBuilder::AddMapping(uint64_t memory_start, uint64_t memory_limit, uint64_t file_offset,
                                    std::string_view filename, std::string_view build_id) {
  perftools::profiles::Mapping* m = profile_.add_mapping();
  m->set_id(static_cast<uint64_t>(profile_.mapping_size()));
  m->set_memory_start(memory_start);
  m->set_memory_limit(memory_limit);
  m->set_file_offset(file_offset);
  m->set_filename(String(filename));
  m->set_build_id(String(build_id));
  return m->id();
}

perftools::profiles::Mapping& ProfileBuilder::MappingById(uint64_t id) {
  // Ids are positions + 1 (AddMapping).
  return *profile_.mutable_mapping(static_cast<int>(id - 1));
}

uint64_t ProfileBuilder::Function(const LineInfo& line) {
  const int64_t name = String(line.function);
  const int64_t file = String(line.file);
  auto [it, added] = functions_.try_emplace({name, file}, profile_.function_size() + 1);
  if (added) {
    perftools::profiles::Function* f = profile_.add_function();
    f->set_id(it->second);
    f->set_name(name);
    // leaktrace keeps only demangled names; the symbol-table name is the same.
    f->set_system_name(name);
    f->set_filename(file);
  }
  return it->second;
}

uint64_t ProfileBuilder::Location(uint64_t mapping_id, uint64_t address, uint64_t scope,
                                  const std::vector<LineInfo>& lines) {
  auto [it, added] = locations_.try_emplace({mapping_id, address, scope}, profile_.location_size() + 1);
  if (!added) return it->second;
  perftools::profiles::Location* loc = profile_.add_location();
  loc->set_id(it->second);
  loc->set_mapping_id(mapping_id);
  loc->set_address(address);
  for (const LineInfo& l : lines) {
    perftools::profiles::Line* line = loc->add_line();
    line->set_function_id(Function(l));
    line->set_line(l.line);
    line->set_column(l.column);
  }
  return it->second;
}

void ProfileBuilder::AddSample(const std::vector<uint64_t>& location_ids,
                               const std::vector<std::pair<std::string, std::string>>& labels,
                               const std::vector<double>& values) {
  std::vector<double>& sum = samples_[{location_ids, labels}];
  sum.resize(values.size(), 0.0);
  for (size_t i = 0; i < values.size(); ++i) sum[i] += values[i];
}

void ProfileBuilder::FinishSamples() {
  for (const auto& [key, values] : samples_) {
    std::vector<int64_t> rounded;
    bool any = false;
    for (double v : values) {
      rounded.push_back(std::llround(v));
      any = any || rounded.back() != 0;
    }
    if (!any) continue;
    perftools::profiles::Sample* s = profile_.add_sample();
    for (uint64_t id : key.first) s->add_location_id(id);
    for (int64_t v : rounded) s->add_value(v);
    for (const auto& [k, v] : key.second) {
      perftools::profiles::Label* l = s->add_label();
      l->set_key(String(k));
      l->set_str(String(v));
    }
  }
  samples_.clear();
}

}  // namespace leaktrace::reporter::pprof
