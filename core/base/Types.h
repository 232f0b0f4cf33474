// Distinct integer kinds get distinct types, so a tid is never passed where an
// event number or a tracee address is expected.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <functional>

namespace rwd {

// A kernel thread id (what gettid() returns). In replay, Tid always means the
// *recorded* tid; the live one is a Task's real_tid().
struct Tid {
  pid_t value = 0;
  constexpr Tid() = default;
  constexpr explicit Tid(pid_t v) : value(v) {}
  constexpr auto operator<=>(const Tid&) const = default;
};

// Position in the global event stream; events are numbered from 1 in the
// order the recorder observed them.
struct EventNum {
  uint64_t value = 0;
  constexpr EventNum() = default;
  constexpr explicit EventNum(uint64_t v) : value(v) {}
  constexpr auto operator<=>(const EventNum&) const = default;
};

// An address in a tracee's address space. Never dereferenced by the tracer.
struct RemotePtr {
  uint64_t addr = 0;
  constexpr RemotePtr() = default;
  constexpr explicit RemotePtr(uint64_t a) : addr(a) {}
  constexpr auto operator<=>(const RemotePtr&) const = default;
  constexpr bool is_null() const { return addr == 0; }
  constexpr RemotePtr operator+(uint64_t off) const { return RemotePtr(addr + off); }
};

}  // namespace rwd

template <>
struct std::hash<rwd::Tid> {
  size_t operator()(rwd::Tid t) const noexcept { return std::hash<pid_t>()(t.value); }
};
