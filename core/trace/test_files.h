// Scratch directories, whole-file reads and writes, and error checks for
// the trace library's unit tests (trace_test.cc, checkpoint_store_test.cc).
#pragma once

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>

namespace rwd::trace::test {

// A fresh directory under /tmp, named after `prefix`, removed afterwards.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// Asserts that `r` failed with a message containing each of `parts`.
template <class R>
void check_error(const R& r, std::initializer_list<std::string> parts) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected an error");
  BOOST_TEST_MESSAGE("error as expected: " << r.error().message);
  for (const auto& p : parts) {
    BOOST_CHECK_MESSAGE(r.error().message.find(p) != std::string::npos,
                        "error '" << r.error().message << "' lacks '" << p << "'");
  }
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::filesystem::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

}  // namespace rwd::trace::test
