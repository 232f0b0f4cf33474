// The bundle format's manifest and the helpers both sides use
// (internal/BundleFormat.h).
#include "core/api/internal/BundleFormat.h"

#include <cstdio>

#include "core/trace/TraceReader.h"

namespace rwd::api::bundle {

Error archive_error(archive* a, const std::string& what) {
  const char* s = archive_error_string(a);
  return Error{what + ": " + (s ? s : "unknown libarchive error"), archive_errno(a)};
}

std::string hex(const uint8_t* p, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

// 'name' for messages, with any byte that is not printable ASCII as \xNN:
// a hostile name must not send escape sequences to the user's terminal.
std::string shown(std::string_view name) {
  std::string q = "'";
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f) {
      q += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      q += buf;
    }
  }
  return q + "'";
}

std::string encode_manifest(const Manifest& m) {
  return std::string(kManifestName) + " " + std::to_string(m.version) + "\nuuid " + m.uuid +
         "\nfiles " + std::to_string(m.files) + "\nbytes " + std::to_string(m.bytes) + "\n";
}

Result<uint64_t> parse_count(std::string_view v, uint64_t max) {
  uint64_t n = 0;
  if (v.empty() || v.size() > 19) return Error{"bad number " + shown(v)};
  for (char c : v) {
    if (c < '0' || c > '9') return Error{"bad number " + shown(v)};
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > max) return Error{"implausible number " + shown(v)};
  return n;
}

Result<Manifest> parse_manifest(std::string_view text) {
  Manifest m;
  bool first = true, have_uuid = false, have_files = false, have_bytes = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return Error{"its manifest does not end with a newline"};
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    const size_t sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    const std::string_view value = sp == std::string_view::npos ? "" : line.substr(sp + 1);
    if (first) {
      if (key != kManifestName) return Error{"its manifest does not start with rewind-bundle"};
      if (value != std::to_string(kBundleFormatVersion))
        return Error{"it is bundle format " + shown(value) + ", and this rewind reads " +
                     std::to_string(kBundleFormatVersion) +
                     ": unpack it with the rewind that made it"};
      first = false;
    } else if (key == "uuid") {
      if (value.size() != 32 || value.find_first_not_of("0123456789abcdef") != value.npos)
        return Error{"its manifest has a bad uuid"};
      m.uuid = value;
      have_uuid = true;
    } else if (key == "files" || key == "bytes") {
      auto n = parse_count(value, key == "files" ? kMaxMembers : kMaxBytes);
      if (!n) return n.error().context("its manifest's " + std::string(key));
      (key == "files" ? m.files : m.bytes) = *n;
      (key == "files" ? have_files : have_bytes) = true;
    }  // other keys: added by a later version that readers of this one may ignore
  }
  if (!have_uuid || !have_files || !have_bytes)
    return Error{"its manifest lacks the uuid, files or bytes line"};
  return m;
}

Result<trace::TraceHeader> finished_trace_header(const std::filesystem::path& dir) {
  auto reader = trace::TraceReader::open(dir, trace::IncompleteTraces::Refuse);
  if (!reader) return reader.error();
  return (*reader)->header();
}

}  // namespace rwd::api::bundle
