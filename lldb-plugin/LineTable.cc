#include "lldb-plugin/LineTable.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

namespace rwd::lldb_plugin {

namespace {

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRIx64, v);
  return buf;
}

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

// The function's code, its entry's range first (the engine takes the first
// range's start as the entry: stepping back over it leaves the function).
Ranges function_ranges(lldb::SBTarget& target, lldb::SBFunction& fn) {
  Ranges out;
  const uint64_t entry = fn.GetStartAddress().GetLoadAddress(target);
  lldb::SBAddressRangeList list = fn.GetRanges();
  for (uint32_t i = 0; i < list.GetSize(); ++i) {
    lldb::SBAddressRange r = list.GetAddressRangeAtIndex(i);
    const uint64_t start = r.GetBaseAddress().GetLoadAddress(target);
    if (start == LLDB_INVALID_ADDRESS || r.GetByteSize() == 0) continue;
    out.emplace_back(start, start + r.GetByteSize());
  }
  if (out.empty()) {
    const uint64_t end = fn.GetEndAddress().GetLoadAddress(target);
    if (entry != LLDB_INVALID_ADDRESS && end > entry) out.emplace_back(entry, end);
  }
  std::stable_partition(out.begin(), out.end(),
                        [&](const auto& r) { return entry >= r.first && entry < r.second; });
  return out;
}

}  // namespace

bool has_line(lldb::SBFrame& frame) {
  lldb::SBLineEntry le = frame.GetLineEntry();
  return le.IsValid() && le.GetLine() != 0 && frame.GetFunction().IsValid();
}

namespace {

struct Row {
  uint64_t start, end;
  uint32_t line;
};

// The rows of the frame's function, adjacent rows of one line merged: the
// code of one statement, as the engine steps by it.
std::vector<Row> rows_of(lldb::SBTarget& target, lldb::SBFrame& frame, const Ranges& ranges) {
  lldb::SBCompileUnit cu = frame.GetCompileUnit();
  std::vector<Row> rows;
  if (!cu.IsValid()) return rows;
  auto inside = [&](uint64_t a) {
    for (const auto& [s, e] : ranges)
      if (a >= s && a < e) return true;
    return false;
  };
  // Rows of inlined code name lines of other files: each (file, line) gets
  // a number of its own, the frame's own file keeping its line numbers.
  const lldb::SBFileSpec own = frame.GetLineEntry().GetFileSpec();
  std::map<std::pair<std::string, uint32_t>, uint32_t> other_lines;
  const uint32_t n = cu.GetNumLineEntries();
  for (uint32_t i = 0; i < n; ++i) {
    lldb::SBLineEntry le = cu.GetLineEntryAtIndex(i);
    const uint64_t start = le.GetStartAddress().GetLoadAddress(target);
    const uint64_t end = le.GetEndAddress().GetLoadAddress(target);
    if (start == LLDB_INVALID_ADDRESS || end <= start || !inside(start)) continue;
    uint32_t line = le.GetLine();
    lldb::SBFileSpec f = le.GetFileSpec();
    if (line != 0 && !(f == own)) {
      char path[4096];
      f.GetPath(path, sizeof path);
      auto key = std::make_pair(std::string(path), line);
      auto it = other_lines.find(key);
      if (it == other_lines.end())
        it =
            other_lines.emplace(key, 0x40000000u + static_cast<uint32_t>(other_lines.size())).first;
      line = it->second;
    }
    if (!rows.empty() && rows.back().end == start && rows.back().line == line)
      rows.back().end = end;
    else
      rows.push_back({start, end, line});
  }
  return rows;
}

}  // namespace

bool at_row_start(lldb::SBTarget& target, lldb::SBFrame& frame) {
  lldb::SBFunction fn = frame.GetFunction();
  if (!fn.IsValid()) return false;
  const uint64_t pc = frame.GetPC();
  for (const Row& r : rows_of(target, frame, function_ranges(target, fn)))
    if (pc >= r.start && pc < r.end) return pc == r.start && r.line != 0;
  return false;
}

std::string frame_lines(lldb::SBTarget& target, lldb::SBFrame& frame, const std::string& prefix) {
  lldb::SBFunction fn = frame.GetFunction();
  if (!fn.IsValid() || !frame.GetCompileUnit().IsValid()) return {};
  Ranges ranges = function_ranges(target, fn);
  if (ranges.empty()) return {};
  std::vector<Row> rows = rows_of(target, frame, ranges);
  std::string out = prefix + "cfa=" + hex(frame.GetCFA()) + ";" + prefix + "fn=";
  for (size_t i = 0; i < ranges.size(); ++i)
    out += (i ? "," : "") + hex(ranges[i].first) + "-" + hex(ranges[i].second);
  out += ";" + prefix + "rows=";
  for (size_t i = 0; i < rows.size(); ++i)
    out += (i ? "," : "") + hex(rows[i].start) + "-" + hex(rows[i].end) + ":" + hex(rows[i].line);
  return out + ";";
}

namespace {

// The executable sections of `section` and its children, as load ranges.
void code_ranges(lldb::SBTarget& target, lldb::SBSection section, Ranges& out) {
  const uint32_t n = section.GetNumSubSections();
  if (n == 0) {
    if (!(section.GetPermissions() & lldb::ePermissionsExecutable)) return;
    const uint64_t start = section.GetLoadAddress(target);
    if (start != LLDB_INVALID_ADDRESS && section.GetByteSize() > 0)
      out.emplace_back(start, start + section.GetByteSize());
    return;
  }
  for (uint32_t i = 0; i < n; ++i) code_ranges(target, section.GetSubSectionAtIndex(i), out);
}

}  // namespace

// By module, not by compile unit: the line tables of libc's 2,000 compile
// units (libc6-dbg) take LLDB 150 ms to read the first time and 40 ms
// after, on every reverse-step, where gdb takes 20 ms for the whole step.
// Counting its compile units costs nothing (LLDB's index has them). Code of
// such a module that has no line information after all (assembly) is
// stepped over by the command (LineStepCommand), as gdb does.
std::string step_into_ranges(lldb::SBTarget& target) {
  Ranges all;
  for (uint32_t m = 0; m < target.GetNumModules(); ++m) {
    lldb::SBModule mod = target.GetModuleAtIndex(m);
    if (mod.GetNumCompileUnits() == 0) continue;
    for (uint32_t s = 0; s < mod.GetNumSections(); ++s)
      code_ranges(target, mod.GetSectionAtIndex(s), all);
  }
  std::sort(all.begin(), all.end());
  Ranges merged;
  for (const auto& r : all) {
    if (!merged.empty() && r.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  std::string out = "into=";
  for (size_t i = 0; i < merged.size(); ++i)
    out += (i ? "," : "") + hex(merged[i].first) + "-" + hex(merged[i].second);
  return out + ";";
}

}  // namespace rwd::lldb_plugin
