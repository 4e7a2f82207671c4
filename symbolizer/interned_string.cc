#include "symbolizer/interned_string.h"

#include <deque>
#include <mutex>
#include <ostream>
#include <unordered_map>

namespace leaktrace::symbolizer {

namespace {

// Every distinct text once. A deque never moves its elements, so the
// pointers handed out (and the views the index keys on, which point into
// those elements) stay valid as it grows.
struct Pool {
  std::mutex mutex;
  std::deque<std::string> texts;
  std::unordered_map<std::string_view, const std::string*> index;
};

// Never destroyed: InternedStrings in static storage may outlive any
// destruction order we could arrange.
Pool& ThePool() {
  static Pool* pool = new Pool;
  return *pool;
}

}  // namespace

const std::string& InternedString::EmptyText() noexcept {
  static const std::string* empty = new std::string;
  return *empty;
}

const std::string& InternedString::Intern(std::string_view text) {
  if (text.empty()) return EmptyText();
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  auto it = pool.index.find(text);
  if (it != pool.index.end()) return *it->second;
  const std::string& stored = pool.texts.emplace_back(text);
  pool.index.emplace(stored, &stored);
  return stored;
}

std::ostream& operator<<(std::ostream& out, const InternedString& s) { return out << s.str(); }

}  // namespace leaktrace::symbolizer
