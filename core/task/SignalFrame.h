// Signal frames that do not depend on page-table state.
//
// The kernel writes a signal frame's XSAVE area with XSAVE straight into
// user memory, page faults disabled. If that faults (the page is not
// present, or is write-protected because a fork shares it copy-on-write),
// the kernel clears the whole area and tries again
// (copy_fpstate_to_sigframe); if not, the bytes XSAVE leaves alone keep
// what the stack held there. Those bytes stay in the dead stack, which
// preemption points' state hashes cover for every thread but the
// preempted one (StateHash.h). Whether a page is write-protected is not
// part of the recording: a replay restored from a checkpoint, or one
// that took a checkpoint (a fork), would write other bytes than the
// recording did, and a later preemption point would never match.
//
// So before each signal it delivers, the recorder zeroes the dead stack
// where the frame's XSAVE area goes, and replay does the same
// (TraceHeader::clears_signal_frames): the frame's bytes are then the same
// whichever way the kernel wrote them. Only bytes the kernel overwrites
// with that area anyway are zeroed, and never through a protection (a
// guard page below an exhausted stack). A frame on an alternate signal
// stack is not covered.
#pragma once

#include "core/base/Error.h"
#include "core/task/Task.h"

namespace rwd {

// Zeroes where a signal delivered to stopped `t` now would put the frame's
// XSAVE area, on its current stack, where that memory is writable.
Result<void> clear_signal_frame_area(Task& t);

}  // namespace rwd
