// Builds a report from one dump: its raw sites (stack ids, return addresses)
// symbolized into model sites, each stack cleaned of frames nobody wants to
// read, and sites that then look the same added up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/dump.h"
#include "reporter/model.h"

namespace leaktrace::reporter {

// The symbolization seam: the frames for one return address of `dump`,
// innermost inline frame first, never empty. The command line plugs in the
// real symbolizer (symbolizer_source.h); tests plug in a table.
using FrameSource = std::function<std::vector<Frame>(const format::Dump& dump, uint64_t pc)>;

// What CleanStack keeps (--full-stacks, --alloc-fn).
struct StackOptions {
  bool full_stacks = false;            // keep the C start-up frames at the bottom
  std::vector<std::string> alloc_fns;  // globs ('*') of allocator wrappers, beside kBuiltinAllocFns
};

// Allocator wrappers stripped from the top of every stack by default:
// redis's zmalloc family, GNU xmalloc, GLib, CPython, C++ operator new,
// jemalloc's prefixed API, OpenSSL's CRYPTO_*alloc.
extern const std::vector<std::string> kBuiltinAllocFns;

// An allocator wrapper: its function (with or without a parameter list)
// matches a built-in or given glob.
bool IsAllocatorWrapper(const Frame& f, const StackOptions& options);
// C start-up plumbing below main or a thread's function: _start,
// __libc_start_*, and libc's start_thread / clone.
bool IsStartupFrame(const Frame& f);

// The one place where frames leave a stack, per return address (innermost
// first, each with its inline frames innermost first): leaktrace's own
// frames; then the allocator wrappers at the top (innermost); then, unless
// `full_stacks`, the start-up frames at the bottom. A stack never loses its
// last frame to the last two rules. Groups left empty are removed.
void CleanStack(std::vector<std::vector<Frame>>& pcs, const StackOptions& options);

// CleanStack on the dump itself, for outputs that work per return address
// (pprof locations): removes from every stack of `dump` the addresses whose
// frames CleanStack drops whole.
void CleanDumpStacks(format::Dump& dump, const FrameSource& source, const StackOptions& options);

// One report (kind kLive) for one dump: every site symbolized, its stack
// cleaned (CleanStack), and sites whose stacks symbolize identically added up.
// A site whose stack id is missing from the dump keeps an empty stack.
// `progress`, when given, hears (sites done, sites in all) as the work goes
// on, and (all, all) at its end.
using ProgressFn = std::function<void(size_t done, size_t total)>;
Report FromDump(const format::Dump& dump, const FrameSource& source, const StackOptions& options = {},
                const ProgressFn& progress = {});

// True for frames that belong to leaktrace itself (module libleaktrace*).
// CleanStack is the one place that asks. A copy of the library under another
// name is told by the dump's module flag instead (kModuleLeaktrace): FromDump
// and CleanDumpStacks leave its addresses out before symbolizing.
bool IsLeaktraceFrame(const Frame& f);

}  // namespace leaktrace::reporter
