# On-disk schema of persisted checkpoints (CheckpointStore.h,
# kCheckpointFormatVersion). Only core/trace/ sees these types; the rest of
# rewind uses the plain structs in CheckpointStore.h.
#
# The rules of trace.capnp hold here too: paths and names from the tracee
# are Data; fields are only ever added; "must" constraints are checked by
# the reader (CheckpointMeta.cc, PackFile.cc), which turns a violation into
# an Error.
#
# Page hashes travel as one Data of 32 bytes per page, beside a list of
# addresses (or locations): a list of structs with a Data each would cost a
# pointer and padding per page, and a checkpoint names tens of thousands.

@0xa2b34d6970f9bbc9;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rwd::trace::schema");

# A checkpoint's metadata: the body of cp-<events>.meta.
struct Checkpoint {
  traceUuid @0 :Data;        # must be 16 bytes, the trace's (and the file header's)
  events @1 :UInt64;         # must equal the file header's and the file name's
  recordedTimeNs @2 :Int64;
  reader @3 :ReaderPos;
  engine @4 :Data;           # replay's session state, opaque here
  processes @5 :List(CpProcess);
}

struct StreamPos {
  blockOffset @0 :UInt64;
  inBlock @1 :UInt64;
}

struct ReaderPos {
  events @0 :StreamPos;
  data @1 :StreamPos;
  eventsRead @2 :UInt64;
  lastEventNum @3 :UInt64;
}

struct CpProcess {
  recTgid @0 :Int32;
  mappings @1 :List(CpMapping);
  pageAddrs @2 :List(UInt64);
  pageHashes @3 :Data;       # must be 32 bytes per entry of pageAddrs, in its order
  threads @4 :List(CpThread);
  sigactions @5 :List(CpSigaction);
  mmLayout @6 :List(UInt64);
  engine @7 :Data;
}

struct CpMapping {
  start @0 :UInt64;
  end @1 :UInt64;
  prot @2 :UInt32;
  flags @3 :UInt32;
  offset @4 :UInt64;
  traceFile @5 :Data;
  name @6 :Data;
  sharedObject @7 :UInt64;
}

struct CpThread {
  recTid @0 :Int32;
  regs @1 :Data;
  xstate @2 :Data;
  sigmask @3 :UInt64;
  altstack @4 :Data;
  engine @5 :Data;
}

struct CpSigaction {
  signo @0 :Int32;
  act @1 :Data;
}

# The index at the end of a pages-<id>.pack file.
struct PackIndex {
  pageHashes @0 :Data;         # 32 bytes per page
  pageBlocks @1 :List(UInt32); # must have an entry per page: an index into `blocks`
  pageSlots @2 :List(UInt8);   # must have an entry per page, less than its block's `pages`
  blocks @3 :List(PackBlock);
}

struct PackBlock {
  offset @0 :UInt64;          # in the file: must lie between the header and the index
  compressedSize @1 :UInt32;  # must match the block's own header
  pages @2 :UInt32;           # 1..64; the block holds pages * 4096 bytes
}
