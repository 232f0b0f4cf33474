// A small, bounds-checked encoding of plain values into bytes, for state
// that travels inside a container format which checks its integrity already
// (a persisted checkpoint's engine state, core/trace/CheckpointStore.h).
// Little-endian integers, length-prefixed byte strings. Reading past the
// end, or a length that does not fit, fails the ByteReader: every get
// after that returns zero values, and ok() says false.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace rwd {

class ByteWriter {
 public:
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof v);
  }
  void put_bytes(const void* p, size_t n) {
    put<uint64_t>(n);
    const auto* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void put_string(const std::string& s) { put_bytes(s.data(), s.size()); }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  std::vector<uint8_t> out_;
};

class ByteReader {
 public:
  ByteReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  explicit ByteReader(const std::vector<uint8_t>& v) : ByteReader(v.data(), v.size()) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T v{};
    if (!ok_ || n_ - pos_ < sizeof v) {
      ok_ = false;
      return T{};
    }
    std::memcpy(&v, p_ + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  // A byte string of at most `max` bytes.
  std::vector<uint8_t> get_bytes(size_t max = 1 << 24) {
    const uint64_t n = get<uint64_t>();
    if (!ok_ || n > max || n > n_ - pos_) {
      ok_ = false;
      return {};
    }
    std::vector<uint8_t> v(p_ + pos_, p_ + pos_ + n);
    pos_ += n;
    return v;
  }
  std::string get_string(size_t max = 1 << 16) {
    auto b = get_bytes(max);
    return std::string(b.begin(), b.end());
  }
  // A count of items that each take at least `min_item` bytes: fails when
  // fewer bytes are left than that many items need.
  uint64_t get_count(size_t min_item = 1) {
    const uint64_t n = get<uint64_t>();
    if (!ok_ || (min_item && n > (n_ - pos_) / min_item)) {
      ok_ = false;
      return 0;
    }
    return n;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == n_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace rwd
