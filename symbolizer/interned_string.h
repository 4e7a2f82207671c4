// A string stored once per process: every InternedString with the same text
// points at one shared copy. A report of a large dump holds millions of
// frames but only thousands of distinct function names, files, modules and
// build ids; as full std::string copies those frames took most of the
// reporter's memory.
//
// Immutable and one pointer wide: copying, assigning and comparing for
// equality are pointer operations. Creating one from text takes a lock and a
// hash lookup, so make them where text first appears (the symbolizer), not in
// loops that could copy them instead. Creation is thread-safe; the texts live
// until the process exits (a tool's lifetime, bounded by the distinct texts
// it ever saw).
//
// Reads like a const std::string: str() and view() (and implicit
// conversions to both) give the text, and the few members the reporter uses
// are forwarded. Ordering compares the texts, as std::string does.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace leaktrace::symbolizer {

class InternedString {
 public:
  // The empty string; takes no lock.
  InternedString() noexcept : text_(&EmptyText()) {}
  // Implicit, so a frame's field can be assigned any text.
  InternedString(std::string_view text) : text_(&Intern(text)) {}
  InternedString(const std::string& text) : InternedString(std::string_view(text)) {}
  InternedString(const char* text) : InternedString(std::string_view(text)) {}

  const std::string& str() const noexcept { return *text_; }
  operator const std::string&() const noexcept { return *text_; }
  std::string_view view() const noexcept { return *text_; }
  operator std::string_view() const noexcept { return *text_; }

  bool empty() const noexcept { return text_->empty(); }
  size_t size() const noexcept { return text_->size(); }
  const char* c_str() const noexcept { return text_->c_str(); }
  void clear() noexcept { text_ = &EmptyText(); }

  // A hash of the identity (equal texts, equal hashes): cheap, but not the
  // same from one run to the next, so no output may depend on its order.
  size_t IdentityHash() const noexcept { return std::hash<const void*>()(text_); }

  // Equal texts are one copy: equality is identity.
  friend bool operator==(const InternedString& a, const InternedString& b) noexcept { return a.text_ == b.text_; }
  friend bool operator==(const InternedString& a, const std::string& b) noexcept { return *a.text_ == b; }
  friend bool operator==(const InternedString& a, std::string_view b) noexcept { return *a.text_ == b; }
  friend bool operator==(const InternedString& a, const char* b) noexcept { return *a.text_ == b; }
  friend std::strong_ordering operator<=>(const InternedString& a, const InternedString& b) noexcept {
    return a.text_ == b.text_ ? std::strong_ordering::equal : *a.text_ <=> *b.text_;
  }

  friend std::string operator+(const InternedString& a, const std::string& b) { return *a.text_ + b; }
  friend std::string operator+(const InternedString& a, const char* b) { return *a.text_ + b; }
  friend std::string operator+(const std::string& a, const InternedString& b) { return a + *b.text_; }
  friend std::string operator+(const char* a, const InternedString& b) { return a + *b.text_; }

 private:
  static const std::string& EmptyText() noexcept;
  static const std::string& Intern(std::string_view text);

  const std::string* text_;  // never null; owned by the process-wide pool
};

std::ostream& operator<<(std::ostream& out, const InternedString& s);

}  // namespace leaktrace::symbolizer

template <>
struct std::hash<leaktrace::symbolizer::InternedString> {
  size_t operator()(const leaktrace::symbolizer::InternedString& s) const noexcept { return s.IdentityHash(); }
};
