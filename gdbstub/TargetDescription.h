// gdb's target description for a replayed amd64 Linux process ("Target
// Descriptions" and "i386 Features" in the gdb manual), served through
// qXfer:features:read. target.xml only includes the feature annexes, as
// gdbserver's does; the <reg> lines of each annex are generated from the
// register table (Registers.h) with explicit regnums, so the g-packet layout
// gdb derives is the one we send.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rwd::gdbstub {

// The document for `annex` ("target.xml", "64bit-core.xml", ...), or
// nothing if there is no such annex. The AVX feature is described only when
// `with_avx` is set, that is when the recorded CPU had AVX.
std::optional<std::string> target_description_annex(std::string_view annex, bool with_avx);

}  // namespace rwd::gdbstub
