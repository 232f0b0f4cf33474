#include "dap/Framing.h"

#include <strings.h>
#include <charconv>

namespace rwd::dap {
namespace {

// No real header comes near this; a peer that sends this much without an
// empty line is not speaking DAP.
constexpr size_t kMaxHeaderBytes = 8192;
// Largest body accepted: a big `variables` or `readMemory` answer is a few
// MiB; anything near this is a corrupt length.
constexpr size_t kMaxBodyBytes = size_t{256} << 20;

constexpr std::string_view kContentLength = "content-length:";

}  // namespace

Result<std::optional<std::string>> FrameDecoder::next() {
  size_t end = buf_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (buf_.size() > kMaxHeaderBytes) return Error{"DAP header longer than 8 KiB without an end"};
    return std::optional<std::string>();
  }
  std::optional<size_t> length;
  std::string_view headers(buf_.data(), end);
  while (!headers.empty()) {
    size_t eol = headers.find("\r\n");
    std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
    if (line.size() < kContentLength.size() ||
        strncasecmp(line.data(), kContentLength.data(), kContentLength.size()) != 0)
      continue;  // the spec allows other fields; none is defined today
    std::string_view value = line.substr(kContentLength.size());
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    size_t n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr != value.data() + value.size() || value.empty())
      return Error{"bad DAP Content-Length: '" + std::string(value) + "'"};
    length = n;
  }
  if (!length) return Error{"DAP header without Content-Length"};
  if (*length > kMaxBodyBytes) return Error{"DAP message of " + std::to_string(*length) + " bytes"};
  size_t body_start = end + 4;
  if (buf_.size() - body_start < *length) return std::optional<std::string>();
  std::string body = buf_.substr(body_start, *length);
  buf_.erase(0, body_start + *length);
  return std::optional<std::string>(std::move(body));
}

std::string encode_frame(std::string_view body) {
  std::string out = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out.append(body);
  return out;
}

}  // namespace rwd::dap
