// The identity of a call site across dumps and runs (Site::key): resource,
// label, and each frame as (function, file, line) when the function is
// known, else as (module base name, build-id, module offset). Load addresses
// never enter it, so two runs of one binary with different ASLR biases give
// equal keys.
//
// Its text (str()) is the resource name, then the label, then one part per
// frame, each after a unit separator (0x1f): "F<function>\x1e<file>\x1e<line>"
// or "M<module base name>\x1e<build-id>\x1e<hex offset>". Separators cannot
// appear in symbol names or paths we print, so equal texts mean equal
// frames. A key orders as its text does (sites of equal size are listed in
// that order).
//
// A key does not hold that text: it holds the interned head (resource and
// label) and one interned part per frame, 8 bytes a frame where the text
// took a hundred or more; sites share their frames' parts. Equality and
// hashing are pointer operations; ordering walks the texts only where two
// keys differ.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/dump.h"
#include "symbolizer/frame.h"
#include "symbolizer/interned_string.h"

namespace leaktrace::reporter {

using symbolizer::InternedString;

class SiteKey {
 public:
  // The key of no site; its text is empty.
  SiteKey() = default;
  SiteKey(format::Resource resource, const std::string& label, const std::vector<symbolizer::Frame>& frames);
  // A key of given parts, for other identities of a frame (group.cc keys a
  // frame by its function alone): `head` from Head(), each part's text
  // beginning with a letter that tells its kind.
  SiteKey(InternedString head, std::vector<InternedString> parts) : head_(head), parts_(std::move(parts)) {}

  static InternedString Head(format::Resource resource, const std::string& label);
  // A frame's part in a SiteKey: "F<function>\x1e<file>\x1e<line>" or
  // "M<module base name>\x1e<build-id>\x1e<hex offset>".
  static InternedString FramePart(const symbolizer::Frame& f);

  // The text; as long as the frames' names and files together.
  std::string str() const;
  // For code that keys maps by text. It builds the text: prefer the key
  // itself (hashable, ordered) as a map key.
  operator std::string() const { return str(); }

  friend bool operator==(const SiteKey& a, const SiteKey& b) noexcept {
    return a.head_ == b.head_ && a.parts_ == b.parts_;
  }
  // As str() would compare, without building it.
  friend std::strong_ordering operator<=>(const SiteKey& a, const SiteKey& b) noexcept;

  size_t Hash() const noexcept;

 private:
  InternedString head_;                // resource name, 0x1f, label
  std::vector<InternedString> parts_;  // one per frame, innermost first
};

std::ostream& operator<<(std::ostream& out, const SiteKey& key);

}  // namespace leaktrace::reporter

template <>
struct std::hash<leaktrace::reporter::SiteKey> {
  size_t operator()(const leaktrace::reporter::SiteKey& key) const noexcept { return key.Hash(); }
};

namespace leaktrace::reporter {

// Keys held elsewhere (the sites of a vector that no longer grows) to V,
// without copying them. Its hash is by identity: iterate the sites, not the
// index, wherever order shows.
template <class V>
using SiteKeyIndex =
    std::unordered_map<std::reference_wrapper<const SiteKey>, V, std::hash<SiteKey>, std::equal_to<SiteKey>>;

}  // namespace leaktrace::reporter
