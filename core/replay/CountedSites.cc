#include "core/replay/CountedSites.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>

#include "core/base/Fd.h"
#include "core/base/Log.h"
#include "core/cpu/Insn.h"
#include "core/replay/StubCode.h"
#include "core/task/ElfHandle.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

namespace {

constexpr uint64_t kPage = 4096;
// A page holds four slots of code and data, then (on the first page) the
// process's counter words.
constexpr uint64_t kSlot = 960;
constexpr int kSlotsPerPage = 4;
constexpr uint64_t kCounter = kSlotsPerPage * kSlot;  // on pages_[0]
constexpr uint64_t kCountdown = kCounter + 8;
// Within a slot: code from 0, then its data.
constexpr uint64_t kSavedRax = 640;
constexpr uint64_t kSavedRcx = 648;
constexpr uint64_t kSavedFlags = 656;
constexpr uint64_t kExpectedFlags = 664;  // as lahf and seto leave ax
constexpr uint64_t kExpected = 672;       // 16 registers, by encoding number
constexpr size_t kMaxCode = kSavedRax;

// The bytes at [addr, addr+n) as the program has them: int3s, patched
// rdtsc sites and other patches hidden.
size_t read_program(Task& task, uint64_t addr, uint8_t* buf, size_t n) {
  const size_t got = task.as().read_partial(RemotePtr(addr), buf, n);
  task.as().hide_breakpoints(addr, buf, got);
  return got;
}

struct Function {
  uint64_t start = 0, size = 0;
  std::string name;
};

// The ELF function symbols of the file mapped at pc that hold pc, or whose
// name extends its name with a dot (GCC's foo.cold, which jumps back into
// foo's middle), at their live addresses.
std::vector<Function> functions_around(pid_t tid, uint64_t pc) {
  std::vector<Function> out;
  auto maps = read_proc_maps(tid);
  if (!maps) return out;
  const KernelMapping* m = nullptr;
  for (const KernelMapping& k : *maps)
    if (k.start <= pc && pc < k.end) m = &k;
  if (!m || !m->is_file()) return out;
  ScopedFd fd(::open(m->name.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return out;
  ElfHandle elf(fd.get());
  if (!elf.is_elf()) return out;
  // The link-time address of pc, through the PT_LOAD that maps its offset.
  const uint64_t file_off = m->offset + (pc - m->start);
  size_t nph = 0;
  if (elf_getphdrnum(elf.get(), &nph) != 0) return out;
  std::optional<int64_t> bias;
  for (size_t i = 0; i < nph && !bias; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
    if (file_off >= ph.p_offset && file_off < ph.p_offset + ph.p_filesz)
      bias = static_cast<int64_t>(pc - (ph.p_vaddr + (file_off - ph.p_offset)));
  }
  if (!bias) return out;
  const uint64_t link_pc = pc - *bias;
  std::vector<Function> all;
  std::string holder;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf.get(), scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !sh.sh_entsize) continue;
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
      const int type = GELF_ST_TYPE(sym.st_info);
      if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !sym.st_size) continue;
      const char* name = elf_strptr(elf.get(), sh.sh_link, sym.st_name);
      Function f{sym.st_value + *bias, sym.st_size, name ? name : ""};
      if (sym.st_value <= link_pc && link_pc < sym.st_value + sym.st_size) holder = f.name;
      all.push_back(std::move(f));
    }
  }
  if (holder.empty()) return out;
  for (Function& f : all) {
    const bool holds = f.start <= pc && pc < f.start + f.size;
    if (holds || f.name.rfind(holder + ".", 0) == 0) out.push_back(std::move(f));
  }
  return out;
}

// A linear decode of one function's code, as the program has it; nullopt
// if it is too big to read or some bytes do not decode.
std::optional<CodeBranches> scan_function(Task& task, const Function& f) {
  if (f.size > (size_t{16} << 20)) return std::nullopt;
  std::vector<uint8_t> body(f.size);
  if (read_program(task, f.start, body.data(), body.size()) != body.size()) return std::nullopt;
  return scan_branches(body.data(), body.size(), f.start);
}

// The function that holds pc (not its .cold parts), decoded.
std::optional<std::pair<Function, CodeBranches>> holder_of(Task& task, uint64_t pc) {
  for (Function& f : functions_around(task.real_tid(), pc)) {
    if (pc < f.start || pc >= f.start + f.size) continue;
    auto br = scan_function(task, f);
    if (!br) return std::nullopt;
    return std::make_pair(std::move(f), std::move(*br));
  }
  return std::nullopt;
}

}  // namespace

namespace {
// A direct `call rel32`: the stub can run it as a push of the original
// return address and a jmp, so it may end the covered bytes (after it the
// program goes on at the callee, and returns to the original code).
bool is_call_rel32(const uint8_t* code, const DecodedInsn& insn) {
  return insn.length == 5 && code[0] == 0xe8;
}
}  // namespace

// How many bytes from pc a jmp may cover: whole movable instructions (the
// last may be a direct call where `allow_call`), at least 5 bytes, none of
// which a jump lands in but the first, nor a task stands in, nor `taken`
// says is another patch's; 0 if none. `end`: exactly up to there.
// With `allow_jumps`, direct jmps and jccs count as movable too (a caller
// that moves them with relocate_direct_jump).
static Result<size_t> span_at(Task& task, uint64_t pc, const std::vector<uint64_t>& task_pcs,
                              uint64_t end, bool allow_call, bool allow_jumps,
                              const std::function<bool(uint64_t)>& taken) {
  uint8_t code[32] = {};
  const size_t got = read_program(task, pc, code, sizeof code);
  size_t covered = 0;
  int insns = 0;
  if (end && (end < pc + 5 || end > pc + sizeof code)) return size_t{0};
  while (covered < 5 || (end && pc + covered < end)) {
    auto insn = decode_insn(code + covered, got - covered);
    if (!insn) return size_t{0};
    // (Not before a state checked after the covered bytes: the callee
    // would return past the check.)
    const bool call = allow_call && is_call_rel32(code + covered, *insn);
    const bool jump =
        allow_jumps && relocate_direct_jump(code + covered, got - covered, pc + covered, pc);
    if (!insn->movable && !call && !jump) return size_t{0};
    covered += insn->length;
    ++insns;
    if (call) break;  // the last one
  }
  if (covered < 5) return size_t{0};
  if (end && pc + covered != end) return size_t{0};
  for (uint64_t a = pc; a < pc + covered; ++a)
    if (task.as().has_breakpoint(a) || taken(a)) return size_t{0};
  if (!task.as().code_patches.empty()) {
    auto it = task.as().code_patches.lower_bound(pc > 16 ? pc - 16 : 0);
    for (; it != task.as().code_patches.end() && it->first < pc + covered; ++it)
      if (it->first + it->second.size() > pc) return size_t{0};
  }
  for (uint64_t p : task_pcs)
    if (p > pc && p < pc + covered) return size_t{0};
  if (insns == 1) return covered;  // nothing can land inside one instruction
  auto fns = functions_around(task.real_tid(), pc);
  if (fns.empty()) return size_t{0};
  bool pc_is_boundary = false;
  for (const Function& f : fns) {
    auto br = scan_function(task, f);
    if (!br || br->indirect_jump) return size_t{0};
    for (uint64_t t : br->targets)
      if (t > pc && t < pc + covered) return size_t{0};
    // The covered bytes stay inside the function that holds pc: the next
    // one's entry is a call target no scan of this one sees.
    if (f.start <= pc && pc < f.start + f.size && pc + covered > f.start + f.size) return size_t{0};
    if (std::binary_search(br->starts.begin(), br->starts.end(), pc)) pc_is_boundary = true;
  }
  return pc_is_boundary ? covered : 0;
}

Result<size_t> CountedSites::coverable(Task& task, uint64_t pc,
                                       const std::vector<uint64_t>& task_pcs, uint64_t end) {
  return span_at(task, pc, task_pcs, end, /*allow_call=*/!end, /*allow_jumps=*/false,
                 [this](uint64_t a) { return covering(a) || sites_.count(a) > 0; });
}

Result<size_t> CountedSites::movable_span(Task& task, uint64_t pc,
                                          const std::vector<uint64_t>& task_pcs) {
  return span_at(task, pc, task_pcs, 0, false, true, [](uint64_t) { return false; });
}

Result<uint64_t> CountedSites::free_slot(Task& task, uint64_t pc) {
  auto near = [pc](uint64_t a) { return (a > pc ? a - pc : pc - a) < kMaxStubDistance; };
  for (auto it = free_slots_.begin(); it != free_slots_.end(); ++it) {
    if (!near(*it)) continue;
    const uint64_t slot = *it;
    free_slots_.erase(it);
    return slot;
  }
  auto mapped = map_stub_page(task, pc, reserved_);
  if (!mapped) return mapped.error();
  const uint64_t page = *mapped;
  if (!page) return uint64_t{0};
  pages_.push_back(page);
  task.as().count_pages.insert(page);
  if (pages_.size() == 1) REWIND_TRY(set_countdown(task, kNoStop));
  for (int i = kSlotsPerPage - 1; i > 0; --i) free_slots_.push_back(page + i * kSlot);
  return page;
}

Result<bool> CountedSites::patch(Task& task, uint64_t addr, bool count,
                                 const std::optional<user_regs_struct>& state,
                                 const std::vector<uint64_t>& task_pcs) {
  auto it = sites_.find(addr);
  if (it != sites_.end() && it->second.state_at) {
    // A state-after site (patch_state_before) becomes an ordinary one.
    REWIND_TRY(unpatch(task, addr));
    it = sites_.end();
  }
  if (it != sites_.end()) {
    it->second.count = count;
    it->second.state = state;
    it->second.inner_at = 0;
    auto written = write_stub(task, addr, it->second);
    if (!written) return written.error();
    return *written;
  }
  if (!task.as().has_stub_page) return false;
  auto covered = coverable(task, addr, task_pcs, 0);
  if (!covered) return covered.error();
  if (!*covered) return false;
  Site site;
  site.covered = *covered;
  site.count = count;
  site.state = state;
  return place(task, addr, std::move(site));
}

Result<std::optional<uint64_t>> CountedSites::patch_state_before(
    Task& task, uint64_t addr, const user_regs_struct& state, const std::vector<uint64_t>& task_pcs,
    const std::set<uint64_t>& avoid) {
  return patch_state_back(task, addr, state, task_pcs, avoid, /*inside=*/false);
}

Result<std::optional<uint64_t>> CountedSites::patch_state_inside(
    Task& task, uint64_t addr, const user_regs_struct& state, const std::vector<uint64_t>& task_pcs,
    const std::set<uint64_t>& avoid) {
  return patch_state_back(task, addr, state, task_pcs, avoid, /*inside=*/true);
}

// A boundary q a few instructions before addr, with a stub that runs the
// instructions from q and checks the state where they reach addr: after
// all of them (the jmp covers exactly [q, addr)), or `inside` the covered
// bytes. Every way to addr must pass through q: no jump may land on addr
// (nor anywhere else the jmp covers, which coverable checks).
Result<std::optional<uint64_t>> CountedSites::patch_state_back(
    Task& task, uint64_t addr, const user_regs_struct& state, const std::vector<uint64_t>& task_pcs,
    const std::set<uint64_t>& avoid, bool inside) {
  using Maybe = std::optional<uint64_t>;
  if (!task.as().has_stub_page) return Maybe();
  auto held = holder_of(task, addr);
  if (!held) return Maybe();
  const CodeBranches& br = held->second;
  if (br.indirect_jump || std::find(br.targets.begin(), br.targets.end(), addr) != br.targets.end())
    return Maybe();
  const std::vector<uint64_t>& starts = br.starts;
  auto at = std::lower_bound(starts.begin(), starts.end(), addr);
  if (at == starts.end() || *at != addr) return Maybe();
  // A few instructions back at most: the stub holds at most 32 bytes of them.
  for (int back = 0; back < 6 && at != starts.begin(); ++back) {
    const uint64_t q = *--at;
    if (!inside && addr - q < 5) continue;
    if (addr - q > (inside ? 24 : 32)) break;
    if (avoid.count(q) || sites_.count(q)) continue;
    auto covered = coverable(task, q, task_pcs, inside ? 0 : addr);
    if (!covered) return covered.error();
    if (*covered == 0 || (inside && q + *covered <= addr)) continue;
    Site site;
    site.covered = *covered;
    site.state = state;
    (inside ? site.inner_at : site.state_at) = addr;
    auto placed = place(task, q, std::move(site));
    if (!placed) return placed.error();
    if (*placed) return Maybe(q);
  }
  return Maybe();
}

Result<std::optional<uint64_t>> CountedSites::add_inner_state(Task& task, uint64_t addr,
                                                              const user_regs_struct& state) {
  using Maybe = std::optional<uint64_t>;
  auto at = covering(addr);
  if (!at) return Maybe();
  Site& site = sites_.at(*at);
  if (site.state_at || site.state) return Maybe();
  // Only at an instruction boundary of the covered bytes.
  uint8_t code[32] = {};
  read_program(task, *at, code, sizeof code);
  size_t off = 0;
  while (off < site.covered && *at + off < addr) {
    auto insn = decode_insn(code + off, sizeof code - off);
    if (!insn) return Maybe();
    off += insn->length;
  }
  if (*at + off != addr) return Maybe();
  Site changed = site;
  changed.state = state;
  changed.inner_at = addr;
  auto written = write_stub(task, *at, changed);
  if (!written) return written.error();
  if (!*written) {
    REWIND_TRY(write_stub(task, *at, site));  // as it was
    return Maybe();
  }
  site = changed;
  REWIND_LOG(Replay, "counted site 0x%llx checks the state at 0x%llx",
             static_cast<unsigned long long>(*at), static_cast<unsigned long long>(addr));
  return Maybe(*at);
}

std::vector<uint64_t> CountedSites::block_starts_around(Task& task, uint64_t pc) {
  std::vector<uint64_t> out;
  auto held = holder_of(task, pc);
  if (!held) return out;
  const Function& f = held->first;
  out.push_back(f.start);  // reached by a call
  for (uint64_t t : held->second.targets)
    if (t >= f.start && t < f.start + f.size) out.push_back(t);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<bool> CountedSites::place(Task& task, uint64_t addr, Site site) {
  auto slot = free_slot(task, addr);
  if (!slot) return slot.error();
  if (!*slot) return false;
  site.slot = *slot;
  std::vector<uint8_t> orig(site.covered);
  if (read_program(task, addr, orig.data(), orig.size()) != orig.size()) {
    free_slots_.push_back(site.slot);
    return false;
  }
  auto written = write_stub(task, addr, site);
  if (!written || !*written) {
    free_slots_.push_back(site.slot);
    if (!written) return written.error();
    return false;
  }
  uint8_t jmp[5] = {0xe9};
  const int32_t rel = static_cast<int32_t>(static_cast<int64_t>(site.entry - (addr + 5)));
  std::memcpy(jmp + 1, &rel, 4);
  REWIND_TRY(task.as().write(RemotePtr(addr), jmp, sizeof jmp));
  // Bytes past the jmp's five that it covers are never executed; leave
  // them, the debugger sees the originals anyway.
  task.as().code_patches[addr] = std::vector<uint8_t>(orig.begin(), orig.begin() + 5);
  sites_[addr] = site;
  REWIND_LOG(Replay, "%s site 0x%llx: %zu bytes covered, stub at 0x%llx",
             site.state_at   ? "state-after"
             : site.inner_at ? "state-inside"
                             : "counted",
             static_cast<unsigned long long>(addr), site.covered,
             static_cast<unsigned long long>(site.slot));
  return true;
}

Result<bool> CountedSites::write_stub(Task& task, uint64_t pc, Site& site) {
  const uint64_t s = site.slot;
  Emitter e(s);
  site.entry = s;
  auto save_rax = [&] {
    e.bytes({0x48, 0x89, 0x05});  // mov [rip+saved_rax], rax
    e.rel32(s + kSavedRax);
  };
  auto load_rax = [&] {
    e.bytes({0x48, 0x8b, 0x05});  // mov rax, [rip+saved_rax]
    e.rel32(s + kSavedRax);
  };
  auto moffs = [&](uint8_t op, uint64_t addr) {  // movabs rax, [addr] (a1) / [addr], rax (a3)
    e.bytes({0x48, op});
    uint8_t a[8];
    std::memcpy(a, &addr, 8);
    e.bytes(std::vector<uint8_t>(a, a + 8));
  };
  // The state check: as PreemptStub, lahf/seto keep the arithmetic flags
  // in ax while the registers are compared; add al, 0x7f and sahf put them
  // back. Falls through on a match, flags and rax restored; branches to
  // the returned fix-ups otherwise, where `restore` must follow.
  std::vector<size_t> to_miss;
  auto restore = [&] {
    emit_restore_flags(e, s + kSavedFlags);
    load_rax();
  };
  auto compare_state = [&] {
    save_rax();
    e.bytes({0x9f, 0x0f, 0x90, 0xc0});  // lahf; seto al
    e.bytes({0x66, 0x89, 0x05});        // mov [rip+saved_flags], ax
    e.rel32(s + kSavedFlags);
    auto jne_miss = [&] {
      e.bytes({0x0f, 0x85});
      to_miss.push_back(e.forward32());
    };
    e.bytes({0x66, 0x3b, 0x05});  // cmp ax, [rip+expected_flags]
    e.rel32(s + kExpectedFlags);
    jne_miss();
    load_rax();
    // An r11 with TF set was saved by a `syscall` made while the thread
    // was single-stepped (a reverse-stepi walk); the same point reached at
    // full speed has it clear. The stub lets r11 pass and the tracer's
    // comparison, which ignores that bit (same_user_registers), decides.
    constexpr int kR11 = 11;
    const uint32_t skip = (site.state->r11 & 0x100) ? 1u << kR11 : 0;
    emit_compare_gprs(e, s + kExpected, jne_miss, skip);
    restore();
  };
  // The program's covered instructions, relocated.
  uint8_t code[32] = {};
  read_program(task, pc, code, sizeof code);
  auto displaced = [&]() -> bool {
    for (size_t at = 0; at < site.covered;) {
      auto insn = decode_insn(code + at, sizeof code - at);
      if (!insn) return false;
      if (site.inner_at && pc + at == site.inner_at) {
        // The state of an address the jmp covers, checked where the
        // relocated code reaches it; both paths go on with the rest.
        compare_state();
        e.bytes({0xcc});  // int3: the registers match
        site.state_trap = e.here();
        e.bytes({0xe9});  // jmp rest (a miss the tracer finds resumes here)
        const size_t to_rest = e.forward32();
        for (size_t f : to_miss) e.bind(f);
        to_miss.clear();
        restore();
        e.bind(to_rest);
      }
      if (is_call_rel32(code + at, *insn)) {
        int32_t rel;
        std::memcpy(&rel, code + at + 1, 4);
        const uint64_t ret = pc + at + 5, target = ret + static_cast<int64_t>(rel);
        // The jmp ends 25 bytes on: lea 5, two movs 7 and 8, jmp 5.
        const int64_t reach = static_cast<int64_t>(target - (e.here() + 25));
        if (reach < INT32_MIN || reach > INT32_MAX) return false;
        const uint32_t lo = static_cast<uint32_t>(ret), hi = static_cast<uint32_t>(ret >> 32);
        e.bytes({0x48, 0x8d, 0x64, 0x24, 0xf8});  // lea rsp, [rsp-8] (flags kept)
        e.bytes({0xc7, 0x04, 0x24});              // mov dword [rsp], lo
        e.bytes({static_cast<uint8_t>(lo), static_cast<uint8_t>(lo >> 8),
                 static_cast<uint8_t>(lo >> 16), static_cast<uint8_t>(lo >> 24)});
        e.bytes({0xc7, 0x44, 0x24, 0x04});  // mov dword [rsp+4], hi
        e.bytes({static_cast<uint8_t>(hi), static_cast<uint8_t>(hi >> 8),
                 static_cast<uint8_t>(hi >> 16), static_cast<uint8_t>(hi >> 24)});
        e.bytes({0xe9});  // jmp target
        e.rel32(target);
        at += insn->length;
        continue;
      }
      auto moved = relocate_insn(code + at, *insn, pc + at, e.here());
      if (!moved) return false;
      e.bytes(*moved);
      at += insn->length;
    }
    return true;
  };
  site.state_trap = 0;
  site.count_trap = 0;
  if (site.state_at) {
    // patch_state_before: the covered instructions first, then the check,
    // which stands for one at state_at, where both paths go on.
    site.count_entry = site.displaced = e.here();
    if (!displaced()) return false;
    compare_state();
    e.bytes({0xcc});  // int3: the registers match
    site.state_trap = e.here();
    e.bytes({0xe9});
    e.rel32(site.state_at);
    for (size_t f : to_miss) e.bind(f);
    restore();
    e.bytes({0xe9});
    e.rel32(site.state_at);
  } else {
    if (site.state && !site.inner_at) {
      compare_state();
      e.bytes({0xcc});  // int3: the registers match
      site.state_trap = e.here();
      e.bytes({0xe9});  // jmp count_entry (the tracer sets the pc itself)
      const size_t to_count = e.forward32();
      for (size_t f : to_miss) e.bind(f);
      restore();
      e.bind(to_count);
    }
    site.count_entry = e.here();
    size_t to_displaced = 0;
    if (site.count) {
      const uint64_t counter = pages_.front() + kCounter, countdown = pages_.front() + kCountdown;
      save_rax();
      moffs(0xa1, counter);
      e.bytes({0x48, 0x8d, 0x40, 0x01});  // lea rax, [rax+1]
      moffs(0xa3, counter);
      moffs(0xa1, countdown);
      e.bytes({0x48, 0x8d, 0x40, 0xff});  // lea rax, [rax-1]
      moffs(0xa3, countdown);
      e.bytes({0x48, 0x89, 0x0d});  // mov [rip+saved_rcx], rcx
      e.rel32(s + kSavedRcx);
      e.bytes({0x48, 0x89, 0xc1});  // mov rcx, rax
      load_rax();
      e.bytes({0xe3, 12});          // jrcxz hit (past the next 12 bytes)
      e.bytes({0x48, 0x8b, 0x0d});  // mov rcx, [rip+saved_rcx]
      e.rel32(s + kSavedRcx);
      e.bytes({0xe9});  // jmp displaced
      to_displaced = e.forward32();
      e.bytes({0x48, 0x8b, 0x0d});  // hit: mov rcx, [rip+saved_rcx]
      e.rel32(s + kSavedRcx);
      e.bytes({0xcc});  // int3: the countdown ran out
      site.count_trap = e.here();
    }
    if (to_displaced) e.bind(to_displaced);
    site.displaced = e.here();
    if (!displaced()) return false;
    e.bytes({0xe9});  // jmp back
    e.rel32(pc + site.covered);
  }
  REWIND_ASSERT(e.code().size() <= kMaxCode);

  uint8_t data[kSlot - kSavedRax] = {};
  if (site.state) {
    const user_regs_struct& want = *site.state;
    for (int n = 0; n < 16; ++n) {
      const uint64_t v = gpr_by_number(want, n);
      std::memcpy(&data[kExpected - kSavedRax + 8 * n], &v, 8);
    }
    const uint16_t flags =
        static_cast<uint16_t>((((want.eflags & 0xd5) | 0x02) << 8) | ((want.eflags >> 11) & 1));
    std::memcpy(&data[kExpectedFlags - kSavedRax], &flags, 2);
  }
  REWIND_TRY(task.as().write(RemotePtr(s), e.code().data(), e.code().size()));
  REWIND_TRY(task.as().write(RemotePtr(s + kSavedRax), data, sizeof data));
  return true;
}

Result<void> CountedSites::unpatch(Task& task, uint64_t addr) {
  auto it = sites_.find(addr);
  if (it == sites_.end()) return ok_result();
  auto orig = task.as().code_patches.find(addr);
  if (orig != task.as().code_patches.end()) {
    REWIND_TRY(task.as().write(RemotePtr(addr), orig->second.data(), orig->second.size()));
    task.as().code_patches.erase(orig);
  }
  free_slots_.push_back(it->second.slot);
  sites_.erase(it);
  return ok_result();
}

size_t CountedSites::drop_overwritten(Task& task) {
  size_t dropped = 0;
  for (auto it = sites_.begin(); it != sites_.end();) {
    const uint64_t addr = it->first;
    uint8_t want[5] = {0xe9};
    const int32_t rel = static_cast<int32_t>(static_cast<int64_t>(it->second.entry - (addr + 5)));
    std::memcpy(want + 1, &rel, 4);
    uint8_t now[5] = {};
    const size_t got = task.as().read_partial(RemotePtr(addr), now, sizeof now);
    if (got == sizeof now && std::memcmp(now, want, sizeof want) == 0) {
      ++it;
      continue;
    }
    task.as().code_patches.erase(addr);
    free_slots_.push_back(it->second.slot);
    it = sites_.erase(it);
    ++dropped;
  }
  return dropped;
}

Result<void> CountedSites::remove_all(Task& task) {
  while (!sites_.empty()) REWIND_TRY(unpatch(task, sites_.begin()->first));
  if (!pages_.empty()) {
    AutoRemoteSyscalls remote(task);
    for (uint64_t p : pages_) {
      (void)remote.syscall(SYS_munmap, p, kPage);
      task.as().count_pages.erase(p);
    }
  }
  pages_.clear();
  free_slots_.clear();
  return ok_result();
}

bool CountedSites::counts(uint64_t addr) const {
  auto it = sites_.find(addr);
  return it != sites_.end() && it->second.count;
}

std::optional<uint64_t> CountedSites::covering(uint64_t addr) const {
  auto it = sites_.upper_bound(addr);
  if (it == sites_.begin()) return std::nullopt;
  --it;
  if (addr > it->first && addr < it->first + it->second.covered) return it->first;
  return std::nullopt;
}

Result<uint64_t> CountedSites::counter(const Task& task) const {
  if (pages_.empty()) return uint64_t{0};
  uint64_t v = 0;
  REWIND_TRY(task.read_mem(RemotePtr(pages_.front() + kCounter), &v, sizeof v));
  return v;
}

Result<void> CountedSites::set_countdown(const Task& task, uint64_t n) const {
  if (pages_.empty()) return ok_result();
  return task.write_mem(RemotePtr(pages_.front() + kCountdown), &n, sizeof n);
}

Result<void> CountedSites::set_counter(const Task& task, uint64_t n) const {
  if (pages_.empty()) return ok_result();
  return task.write_mem(RemotePtr(pages_.front() + kCounter), &n, sizeof n);
}

std::optional<CountedSites::Trap> CountedSites::trap_at(uint64_t rip) const {
  for (const auto& [addr, site] : sites_) {
    if (site.state_trap && rip == site.state_trap)
      return Trap{addr, TrapKind::State,
                  site.state_at   ? site.state_at
                  : site.inner_at ? site.inner_at
                                  : addr};
    if (site.count_trap && rip == site.count_trap) return Trap{addr, TrapKind::Count, addr};
  }
  return std::nullopt;
}

bool CountedSites::in_stub(uint64_t rip) const {
  for (uint64_t p : pages_)
    if (rip >= p && rip < p + kPage) return true;
  return false;
}

}  // namespace rwd
