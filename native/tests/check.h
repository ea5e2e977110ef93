// The check harness the native test programs share: a Check names one check, collects its
// first failure and prints `ok <name> (<ms>)` or `FAIL <name>: <why>` when it goes out of
// scope; finish() prints `N passed, M failed` (what the node:test wrappers read) and gives
// the exit code.
#pragma once
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <string>

namespace check {

inline int g_passed = 0;
inline int g_failed = 0;

struct Check {
  std::string name;
  std::string error;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  explicit Check(std::string n) : name(std::move(n)) {}
  void fail(const char* fmt, ...) {
    if (!error.empty()) return;  // keep the first failure
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    error = buf;
  }
  void expect_eq(long got, long want, const char* what) {
    if (got != want) fail("%s: got %ld, want %ld", what, got, want);
  }
  ~Check() {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (error.empty()) {
      std::printf("ok %s (%.0f ms)\n", name.c_str(), ms);
      ++g_passed;
    } else {
      std::printf("FAIL %s: %s\n", name.c_str(), error.c_str());
      ++g_failed;
    }
    std::fflush(stdout);
  }
};

inline int finish() {
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}

}  // namespace check
