// rewind pack (Pack.h) over pack/Pack.h, whose types stay the engine's.
#include "core/api/Pack.h"

#include "pack/Pack.h"

namespace rwd::api {

Result<PackStats> pack_trace(const std::filesystem::path& trace, const PackOptions& options) {
  pack::PackOptions po;
  po.pack_dir = options.pack_dir;
  if (options.progress)
    po.progress = [&](const pack::Progress& p) {
      options.progress(PackProgress{p.phase, p.done_bytes, p.total_bytes});
    };
  auto s = pack::pack_trace(trace, po);
  if (!s) return s.error();
  return PackStats{
      .bytes_before = s->bytes_before,
      .bytes_after = s->bytes_after,
      .files_before = s->files_before,
      .files_after = s->files_after,
      .distinct_contents = s->distinct_contents,
      .copied_files = s->copied_files,
      .copied_bytes = s->copied_bytes,
      .store_files_added = s->store_files_added,
      .checkpoint_pages_in_store = s->checkpoint_pages_in_store,
      .checkpoint_pages_added = s->checkpoint_pages_added,
      .changed = s->changed,
  };
}

}  // namespace rwd::api
