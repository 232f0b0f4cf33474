// rewind info, dump and ps (Trace.h): read-only views of a trace.
#include "core/api/Trace.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include "core/api/Bundle.h"
#include "core/syscalls/SyscallTable.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"
#include "preload/abi.h"

namespace rwd::api {

namespace {

using trace::Event;
using trace::EventKind;
using trace::MappingRecord;
using trace::TaskEvent;
using trace::TaskEventKind;
using trace::TraceReader;

Result<std::unique_ptr<TraceReader>> open_trace(const std::string& arg) {
  auto dir = resolve_trace(arg);
  if (!dir) return dir.error();
  auto reader = TraceReader::open(*dir, trace::IncompleteTraces::ReadPrefix);
  if (reader && (*reader)->incomplete())
    std::fprintf(stderr, "rewind: warning: %s\n", describe(*(*reader)->incomplete()).c_str());
  return reader;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// "SIGSEGV"; real-time signals as "SIGRTMIN+3", as kill -l names them.
std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  return "signal " + std::to_string(sig);
}

// A wait status as ps shows it: the exit code, or the signal that killed it.
std::string wait_status(int status) {
  if (WIFEXITED(status)) return std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return signal_name(WTERMSIG(status));
  return hex(static_cast<uint32_t>(status));
}

// The same with the core-dump bit, for dump.
std::string wait_status_long(int status) {
  return wait_status(status) + (WIFSIGNALED(status) && WCOREDUMP(status) ? " (core dumped)" : "");
}

// Recorded paths and argv are bytes: keep control characters off the terminal.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + printable(s);
  return out;
}

// ---- JSON (info) ----

// Length of the well-formed UTF-8 sequence at s[i], or 0 if there is none.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp, min;
  if ((c & 0xe0) == 0xc0) {
    n = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b & 0x3f);
  }
  // Overlong forms and surrogates are not UTF-8 either.
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// A JSON string literal. Recorded strings are bytes, not necessarily UTF-8:
// a byte that is not part of valid UTF-8 comes out as \u00XX (its Latin-1
// reading), so the output is always valid JSON.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = utf8_sequence(s, i);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f || n == 0) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
  return out + "\"";
}

std::string json_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_string(v[i]);
  return out + "]";
}

// ---- dump ----

// The syscall arguments in the x86-64 syscall ABI order.
std::string syscall_args(const user_regs_struct& r) {
  const unsigned long long a[6] = {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9};
  // The table does not say how many arguments a syscall takes, so all six
  // are shown; the unused ones are whatever the registers held.
  std::string out;
  for (int i = 0; i < 6; ++i) out += (i ? ", " : "") + hex(a[i]);
  return out;
}

std::string syscall_result(uint64_t rax) {
  const auto v = static_cast<int64_t>(rax);
  if (v >= -4095 && v <= -1) {
    const char* name = strerrorname_np(static_cast<int>(-v));
    return std::to_string(v) + (name ? std::string(" ") + name : "");
  }
  // Counts read best in decimal, addresses (mmap, brk) in hex.
  return rax < (uint64_t{1} << 32) ? std::to_string(rax) : hex(rax);
}

// What a buffered record keeps of its arguments (BufRecord::arg0), where it
// keeps something the tracer uses.
std::string buffered_note(const syscallbuf::BufRecord& rec) {
  if (rec.nr == SYS_futex) return " (arg0 " + std::to_string(rec.arg0) + ")";
  if (sys::is_error(rec.ret)) return "";
  switch (rec.nr) {
    case SYS_close:
      return " (fd " + std::to_string(rec.arg0) + ")";
    case SYS_mmap: {
      const int prot = syscallbuf::mmap_prot(rec.arg0);
      return " (" + std::to_string(syscallbuf::mmap_len(rec.arg0)) + " bytes, " +
             (prot & PROT_READ ? "r" : "-") + (prot & PROT_WRITE ? "w" : "-") + ")";
    }
    case SYS_rt_sigaction:
      return rec.arg0 ? " (a change, made again in replay)" : "";
  }
  return "";
}

// The syscalls the thread made through its buffer on its way to the event
// (preload/abi.h), one line each, before the event's own line.
// (Other threads' too, which handed the baton around meanwhile.)
std::string describe_records(Tid tid, const std::vector<uint8_t>& records) {
  std::string s;
  size_t at = 0;
  while (records.size() - at >= sizeof(syscallbuf::BufRecord)) {
    syscallbuf::BufRecord rec;
    memcpy(&rec, records.data() + at, sizeof rec);
    if (rec.size < sizeof rec || rec.size > records.size() - at) break;
    uint64_t bytes = 0;
    size_t p = at + sizeof rec;
    for (uint32_t i = 0; i < rec.nouts && p + sizeof(syscallbuf::OutHead) <= at + rec.size; ++i) {
      syscallbuf::OutHead h;
      memcpy(&h, records.data() + p, sizeof h);
      bytes += h.len;
      p += sizeof h + syscallbuf::pad8(h.len);
    }
    s += "   tid " + std::to_string(tid.value) + " BUFFERED " + sys::name(rec.nr) + " = " +
         syscall_result(static_cast<uint64_t>(rec.ret)) + buffered_note(rec);
    if (rec.nouts)
      s += " [" + std::to_string(rec.nouts) + (rec.nouts == 1 ? " write, " : " writes, ") +
           std::to_string(bytes) + " bytes]";
    s += "\n";
    at += rec.size;
  }
  if (at != records.size()) s += "   (corrupt buffered syscalls)\n";
  return s;
}

std::string describe_buffered(const Event& e) {
  std::string s;
  for (const Event::PeerRecords& p : e.peer_syscallbufs) s += describe_records(p.tid, p.records);
  return s + describe_records(e.tid, e.syscallbuf);
}

std::string describe(const Event& e) {
  std::string s = describe_buffered(e) + "#" + std::to_string(e.num.value) + " tid " +
                  std::to_string(e.tid.value) + " ";
  switch (e.kind) {
    case EventKind::SyscallEntry:
      s += "SYSCALL_ENTRY " + sys::name(e.syscall_no) + "(" + syscall_args(e.regs) + ")";
      break;
    case EventKind::SyscallExit:
      s += "SYSCALL_EXIT " + sys::name(e.syscall_no) + " = " + syscall_result(e.regs.rax);
      break;
    case EventKind::Signal:
      s += "SIGNAL " + signal_name(e.signo);
      break;
    case EventKind::Rdtsc:
      s += std::string(e.rdtscp ? "RDTSCP " : "RDTSC ") + hex(e.tsc);
      if (e.rdtscp) s += " aux " + hex(e.tsc_aux);
      break;
    case EventKind::Cpuid:
      s += "CPUID " + hex(e.regs.rax & 0xffffffff) + "/" + hex(e.regs.rcx & 0xffffffff) + " ->";
      for (uint32_t v : e.cpuid_out) s += " " + hex(v);
      break;
    case EventKind::Rdrand:
      s += "RDRAND " + (e.random_ok ? hex(e.random) : std::string("none (carry clear)"));
      break;
    case EventKind::Exit:
      s += "EXIT status " + wait_status_long(e.exit_status);
      break;
    case EventKind::BatonGive:
      s += "BATON GIVE at " + hex(e.regs.rip) + " after " + std::to_string(e.baton_releases) +
           " releases";
      break;
    case EventKind::PtraceStop:
      s += "PTRACE STOP status " + hex((static_cast<uint32_t>(e.exit_status) << 8) | 0x7f) +
           (e.flags & trace::kFlagPtraceEntry ? " at syscall entry" : "") + " at " +
           hex(e.regs.rip);
      break;
    case EventKind::PtraceResume:
      s += std::string(e.flags & trace::kFlagPtraceStep ? "PTRACE STEP" : "PTRACE RESUME") +
           (e.signo ? " with " + signal_name(e.signo) : std::string());
      break;
    case EventKind::PtraceWrite:
      s += "PTRACE WRITE";
      if (e.flags & trace::kFlagPtraceRegs) s += " registers";
      if (!e.siginfo.empty()) s += " siginfo";
      break;
    case EventKind::Preempt:
      s += "PREEMPT at " + hex(e.regs.rip);
      for (const trace::LoopWord& w : e.loop_words) s += " [" + hex(w.addr) + "]=" + hex(w.value);
      break;
  }
  if (!e.writes.empty()) {
    uint64_t bytes = 0;
    for (const auto& w : e.writes) bytes += w.bytes.size();
    s += " [" + std::to_string(e.writes.size()) +
         (e.writes.size() == 1 ? " write, " : " writes, ") + std::to_string(bytes) + " bytes]";
  }
  if (e.flags & trace::kFlagSyscallSkipped) s += " {skipped}";
  if (e.flags & trace::kFlagExecutedInReplay) s += " {executed in replay}";
  if (e.flags & trace::kFlagAsyncSignal) s += " {async}";
  if (e.kind == EventKind::Signal && (e.flags & trace::kFlagPtraceStop)) s += " {ptrace stop}";
  return s;
}

std::string describe(const TaskEvent& t) {
  const std::string tid = std::to_string(t.tid.value);
  switch (t.kind) {
    case TaskEventKind::Clone:
      return "  clone child tid " + tid + " parent " + std::to_string(t.parent_tid.value) +
             " flags " + hex(t.clone_flags) + ((t.clone_flags & CLONE_THREAD) ? " (thread)" : "");
    case TaskEventKind::Exec:
      return "  exec " + printable(t.exe_path) + " tid " + tid + ": " + join(t.argv);
    case TaskEventKind::Exit:
      return "  exit tid " + tid + " status " + wait_status_long(t.exit_status);
  }
  return "  task event of unknown kind";
}

std::string describe(const MappingRecord& m) {
  std::string perms = "---p";
  if (m.prot & PROT_READ) perms[0] = 'r';
  if (m.prot & PROT_WRITE) perms[1] = 'w';
  if (m.prot & PROT_EXEC) perms[2] = 'x';
  if ((m.flags & MAP_TYPE) != MAP_PRIVATE) perms[3] = 's';
  std::string s = "  mmap " + hex(m.start) + "-" + hex(m.end) + " " + perms;
  if (m.file_offset) s += " @" + hex(m.file_offset);
  s += " " + (m.orig_path.empty() ? std::string("[anon]") : printable(m.orig_path));
  if (!m.trace_file.empty()) {
    s += " -> " + printable(m.trace_file);
    if (m.storage == trace::FileStorage::Linked) s += " (linked)";
  }
  return s;
}

// ---- ps ----

struct Process {
  pid_t pid = 0;
  std::optional<pid_t> ppid;  // none for the process rewind started
  std::string cmd;
  std::optional<int> leader_exit, last_exit;
};

// Replays the task events to find each process (thread group) and what it
// ran. A thread's tid maps to its group's pid; the kernel reports a clone
// without CLONE_THREAD as a new process whose pid is the new tid.
std::vector<Process> processes(const std::vector<TaskEvent>& events) {
  std::vector<Process> procs;
  std::map<pid_t, size_t> index;   // pid -> procs[]
  std::map<pid_t, pid_t> tgid_of;  // tid -> pid
  auto process_of = [&](pid_t tid) -> Process& {
    auto t = tgid_of.find(tid);
    if (t == tgid_of.end()) {
      // A task seen before any clone created it: the initial task.
      t = tgid_of.emplace(tid, tid).first;
    }
    auto [it, added] = index.emplace(t->second, procs.size());
    if (added) {
      procs.emplace_back();
      procs.back().pid = t->second;
    }
    return procs[it->second];
  };
  for (const TaskEvent& t : events) {
    switch (t.kind) {
      case TaskEventKind::Clone: {
        const Process& parent = process_of(t.parent_tid.value);
        if (t.clone_flags & CLONE_THREAD) {
          tgid_of[t.tid.value] = parent.pid;
          break;
        }
        // A fork that never execs runs its parent's program.
        Process child;
        child.pid = t.tid.value;
        child.ppid = parent.pid;
        child.cmd = parent.cmd;
        tgid_of[t.tid.value] = t.tid.value;
        index[child.pid] = procs.size();
        procs.push_back(std::move(child));  // invalidates `parent`
        break;
      }
      case TaskEventKind::Exec:
        process_of(t.tid.value).cmd = join(t.argv);
        break;
      case TaskEventKind::Exit: {
        Process& p = process_of(t.tid.value);
        p.last_exit = t.exit_status;
        if (t.tid.value == p.pid) p.leader_exit = t.exit_status;
        break;
      }
    }
  }
  return procs;
}

}  // namespace

Result<std::filesystem::path> resolve_trace(const std::string& arg) {
  // A file where a trace directory is expected is a bundle (Bundle.h).
  if (is_bundle_path(arg)) return open_bundle(arg);
  return trace::resolve_trace_arg(arg);
}

Result<void> print_trace_info(const std::string& trace_arg) {
  auto reader = open_trace(trace_arg);
  if (!reader) return reader.error();
  TraceReader& r = **reader;
  uint64_t events = 0;
  for (;;) {
    auto e = r.next_event();
    if (!e) return e.error();
    if (!e->has_value()) break;
    ++events;
  }
  std::set<pid_t> tids;
  for (const TaskEvent& t : r.task_events()) {
    tids.insert(t.tid.value);
    if (t.kind == TaskEventKind::Clone) tids.insert(t.parent_tid.value);
  }

  const trace::TraceHeader& h = r.header();
  std::string uuid;
  for (uint8_t b : h.uuid) {
    char buf[4];
    std::snprintf(buf, sizeof(buf), "%02x", b);
    uuid += buf;
  }
  std::string out = "{\n";
  auto field = [&](const char* name, const std::string& json) {
    out += std::string("  \"") + name + "\": " + json + ",\n";
  };
  field("uuid", json_string(uuid));
  field("format_version", std::to_string(h.format_version));
  field("arch", json_string(h.arch));
  field("kernel", json_string(h.kernel));
  field("argv", json_strings(h.argv));
  field("env", json_strings(h.env));
  field("cwd", json_string(h.cwd));
  field("tick_source", json_string(h.tick_source));
  field("start_time_ns", std::to_string(h.start_time_ns));
  field("cpuid_faulting", h.cpuid_faulting ? "true" : "false");
  field("cpu_features", json_strings(h.cpu_features));           // record --cpu-features; []: all
  field("record_cpu", std::to_string(h.record_cpu));             // the CPU recording was pinned to
  field("syscall_filter", h.syscall_filter ? "true" : "false");  // replay runs under seccomp
  field("xcr0", json_string(hex(h.xcr0)));
  std::string cpuid = "[";
  for (size_t i = 0; i < h.cpuid.size(); ++i) {
    const trace::CpuidLeaf& l = h.cpuid[i];
    cpuid += std::string(i ? "," : "") + "\n    {\"leaf\": \"" + hex(l.leaf) +
             "\", \"subleaf\": \"" + hex(l.subleaf) + "\", \"eax\": \"" + hex(l.eax) +
             "\", \"ebx\": \"" + hex(l.ebx) + "\", \"ecx\": \"" + hex(l.ecx) + "\", \"edx\": \"" +
             hex(l.edx) + "\"}";
  }
  field("cpuid", cpuid + (h.cpuid.empty() ? "]" : "\n  ]"));
  field("events", std::to_string(events));
  // How far an incomplete trace goes (a killed recorder's, or a live one).
  if (const auto& end = r.incomplete()) {
    field("complete", "false");
    field("recording", json_string(end->still_recording ? "running" : "killed"));
    field("last_event", std::to_string(end->last_event));
    field("cut", json_string(end->cut));
  } else {
    field("complete", "true");
  }
  field("clears_signal_frames", h.clears_signal_frames ? "true" : "false");
  field("ignored_signals", json_string(hex(h.ignored_signals)));
  // Persistent checkpoints (rewind checkpoint create): event, recorded
  // time, bytes on disk (its metadata and the pages it added).
  std::string cps = "[";
  if (auto store = trace::CheckpointStore::open(r.dir(), h.uuid)) {
    const auto list = (*store)->list();
    for (size_t i = 0; i < list.size(); ++i) {
      const trace::CheckpointInfo& c = list[i];
      cps += std::string(i ? "," : "") + "\n    {\"event\": " + std::to_string(c.events) +
             ", \"time_ns\": " + std::to_string(c.recorded_time_ns) +
             ", \"bytes\": " + std::to_string(c.meta_bytes + c.pack_bytes) +
             ", \"pages\": " + std::to_string(c.pages) + "}";
    }
    cps += list.empty() ? "]" : "\n  ]";
  } else {
    cps += "]";
    std::fprintf(stderr, "rewind: warning: %s\n", store.error().message.c_str());
  }
  field("checkpoints", cps);
  out += "  \"tasks\": " + std::to_string(tids.size()) + "\n}\n";
  std::fputs(out.c_str(), stdout);
  return ok_result();
}

Result<void> print_trace_dump(const std::string& trace_arg) {
  auto reader = open_trace(trace_arg);
  if (!reader) return reader.error();
  TraceReader& r = **reader;
  const auto& tasks = r.task_events();
  const auto& maps = r.mappings();
  size_t ti = 0, mi = 0;
  // Prints the task events and mappings recorded at events before `limit`
  // (or at it, when `inclusive`), in event order, task events first.
  auto print_side = [&](uint64_t limit, bool inclusive) {
    auto due = [&](EventNum n) { return inclusive ? n.value <= limit : n.value < limit; };
    while ((ti < tasks.size() && due(tasks[ti].event)) ||
           (mi < maps.size() && due(maps[mi].event))) {
      if (ti < tasks.size() && due(tasks[ti].event) &&
          (mi == maps.size() || tasks[ti].event <= maps[mi].event)) {
        std::printf("%s\n", describe(tasks[ti++]).c_str());
      } else {
        std::printf("%s\n", describe(maps[mi++]).c_str());
      }
    }
  };
  for (;;) {
    auto e = r.next_event();
    if (!e) {
      std::fflush(stdout);
      return e.error();
    }
    if (!e->has_value()) break;
    print_side((*e)->num.value, false);
    std::printf("%s\n", describe(**e).c_str());
    print_side((*e)->num.value, true);
  }
  print_side(UINT64_MAX, true);
  return ok_result();
}

Result<void> print_trace_processes(const std::string& trace_arg) {
  auto reader = open_trace(trace_arg);
  if (!reader) return reader.error();
  std::printf("%-8s %-8s %-10s %s\n", "PID", "PPID", "EXIT", "CMD");
  for (const Process& p : processes((*reader)->task_events())) {
    const auto& exit = p.leader_exit ? p.leader_exit : p.last_exit;
    std::printf("%-8d %-8s %-10s %s\n", p.pid, p.ppid ? std::to_string(*p.ppid).c_str() : "-",
                exit ? wait_status(*exit).c_str() : "-", p.cmd.empty() ? "?" : p.cmd.c_str());
  }
  return ok_result();
}

}  // namespace rwd::api
