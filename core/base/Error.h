// Two kinds of error (docs/style.md, "Two kinds of error"):
//  - Anything that can legitimately fail (a syscall, tracee death, a corrupt
//    trace, a malformed packet) returns a [[nodiscard]] Result carrying what
//    failed and why.
//  - A broken invariant is a bug in rewind: REWIND_ASSERT aborts with context.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace rwd {

struct Error {
  std::string message;
  int errnum = 0;  // the errno behind it, when a syscall failed

  static Error from_errno(const std::string& what, int err = errno) {
    return Error{what + ": " + std::strerror(err), err};
  }
  // Adds context in front: "reading trace /x: events: truncated block".
  Error context(const std::string& outer) const { return Error{outer + ": " + message, errnum}; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool failed_ = false;
};

inline Result<void> ok_result() {
  return Result<void>();
}

[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line,
                                     const std::string& msg) {
  std::fprintf(stderr, "rewind: internal error: %s:%d: assertion '%s' failed%s%s\n", file, line,
               expr, msg.empty() ? "" : ": ", msg.c_str());
  std::abort();
}

}  // namespace rwd

#define REWIND_ASSERT(cond, ...)                                                          \
  do {                                                                                    \
    if (!(cond)) ::rwd::assert_fail(#cond, __FILE__, __LINE__, std::string{__VA_ARGS__}); \
  } while (0)

// Propagates a failed Result<...> from an expression, adding no context.
#define REWIND_TRY(expr)             \
  do {                               \
    auto _r = (expr);                \
    if (!_r.ok()) return _r.error(); \
  } while (0)
