// Small file helpers shared by the trace library and the sessions.
#pragma once

#include <cstddef>
#include <string>

#include "core/base/Error.h"

namespace rwd {

// write(2) until all of len is written, retrying EINTR. `what` names the
// file in the error ("writing <what>: <errno>").
Result<void> write_all(int fd, const void* data, size_t len, const std::string& what);

}  // namespace rwd
