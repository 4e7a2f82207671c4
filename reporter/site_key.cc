#include "reporter/site_key.h"

#include <algorithm>
#include <cstring>
#include <ostream>
#include <string_view>

#include <fmt/format.h>

namespace leaktrace::reporter {

InternedString SiteKey::Head(format::Resource resource, const std::string& label) {
  std::string head = format::ResourceName(resource);
  head += '\x1f';
  head += label;
  return InternedString(head);
}

InternedString SiteKey::FramePart(const symbolizer::Frame& f) {
  std::string part;
  if (!f.function.empty()) {
    part += 'F';
    part += f.function.view();
    part += '\x1e';
    part += f.file.view();
    part += '\x1e';
    part += std::to_string(f.line);
  } else {
    part += 'M';
    part += symbolizer::ModuleBasename(f.module);
    part += '\x1e';
    part += f.build_id.view();
    part += '\x1e';
    part += fmt::format("{:x}", f.module_offset);
  }
  return InternedString(part);
}

SiteKey::SiteKey(format::Resource resource, const std::string& label, const std::vector<symbolizer::Frame>& frames)
    : head_(Head(resource, label)) {
  parts_.reserve(frames.size());
  for (const symbolizer::Frame& f : frames) parts_.push_back(FramePart(f));
}

std::string SiteKey::str() const {
  std::string text = head_.str();
  for (const InternedString& p : parts_) {
    text += '\x1f';
    text += p.view();
  }
  return text;
}

namespace {

// A key's text as a sequence of pieces: the head, then a separator and a
// part per frame. Reads it piece by piece without building it.
class TextCursor {
 public:
  TextCursor(const InternedString& head, const std::vector<InternedString>& parts) : head_(head), parts_(parts) {}

  bool done() const { return piece_ == 1 + 2 * parts_.size(); }
  // The rest of the current piece; empty only when done() or at an empty head.
  std::string_view rest() const { return Piece().substr(offset_); }
  // The current piece when it starts here, to skip shared pieces whole.
  const InternedString* whole() const { return offset_ == 0 && piece_ % 2 == 0 ? &Part() : nullptr; }
  void Advance(size_t n) {
    offset_ += n;
    while (!done() && offset_ == Piece().size()) ++piece_, offset_ = 0;
  }
  size_t piece() const { return piece_; }

 private:
  // Piece 0 is the head; odd pieces are separators; piece 2k is part k - 1.
  const InternedString& Part() const { return piece_ == 0 ? head_ : parts_[piece_ / 2 - 1]; }
  std::string_view Piece() const { return piece_ % 2 == 1 ? std::string_view("\x1f", 1) : Part().view(); }

  const InternedString& head_;
  const std::vector<InternedString>& parts_;
  size_t piece_ = 0;
  size_t offset_ = 0;
};

}  // namespace

std::strong_ordering operator<=>(const SiteKey& a, const SiteKey& b) noexcept {
  TextCursor x(a.head_, a.parts_), y(b.head_, b.parts_);
  x.Advance(0), y.Advance(0);  // past an empty head
  while (!x.done() && !y.done()) {
    // At the same place in both texts, one shared piece is equal text.
    if (x.piece() == y.piece() && x.whole() && y.whole() && *x.whole() == *y.whole()) {
      const size_t n = x.rest().size();
      x.Advance(n), y.Advance(n);
      continue;
    }
    const std::string_view p = x.rest(), q = y.rest();
    const size_t n = std::min(p.size(), q.size());
    // As std::string compares: bytes as unsigned char.
    if (const int c = std::memcmp(p.data(), q.data(), n); c != 0) return c < 0 ? std::strong_ordering::less
                                                                            : std::strong_ordering::greater;
    x.Advance(n), y.Advance(n);
  }
  if (x.done() && y.done()) return std::strong_ordering::equal;
  return x.done() ? std::strong_ordering::less : std::strong_ordering::greater;
}

size_t SiteKey::Hash() const noexcept {
  size_t h = head_.IdentityHash();
  for (const InternedString& p : parts_) h = (h ^ p.IdentityHash()) * 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 29);
}

std::ostream& operator<<(std::ostream& out, const SiteKey& key) { return out << key.str(); }

}  // namespace leaktrace::reporter
