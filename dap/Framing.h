// The Debug Adapter Protocol's base protocol: each message is a header block
// ("Content-Length: N", then an empty line, lines ending in \r\n) followed by
// N bytes of JSON. The same framing runs both ways, client <-> rewind-dap and
// rewind-dap <-> lldb-dap.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/base/Error.h"

namespace rwd::dap {

// Splits a byte stream into message bodies.
class FrameDecoder {
 public:
  void append(std::string_view bytes) { buf_.append(bytes); }

  // The next complete body; nullopt while more bytes are needed; an error
  // for a header without a usable Content-Length (the stream cannot be
  // resynchronised after that, so the caller gives up on it).
  Result<std::optional<std::string>> next();

  // Bytes received but not yet part of a complete message.
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
};

std::string encode_frame(std::string_view body);

}  // namespace rwd::dap
