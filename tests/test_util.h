// Helpers shared by the test suites.
#pragma once

#include <cstdlib>
#include <iterator>
#include <unistd.h>
#include <fstream>
#include <string>
#include <vector>

namespace r1test {

// The shared fixtures folder: $R1_FIXTURES_DIR, else <source>/../shared/fixtures. Empty when absent.
inline std::string fixtures_dir() {
    const char* env = std::getenv("R1_FIXTURES_DIR");
    std::string dir = env && *env ? env : std::string(R1_SOURCE_DIR) + "/../shared/fixtures";
    std::ifstream probe(dir + "/README.md");
    return probe ? dir : std::string();
}

// A fresh path in a per-process temporary folder ($TMPDIR or /tmp), removed by the caller when it cares.
inline std::string temp_path(const std::string& name) {
    static std::string dir = [] {
        const char* base = std::getenv("TMPDIR");
        std::string templ = std::string(base && *base ? base : "/tmp") + "/r1-test-XXXXXX";
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        const char* made = mkdtemp(buf.data());
        return std::string(made ? made : "/tmp");
    }();
    return dir + "/" + name;
}

inline bool write_file(const std::string& path, const void* data, size_t size) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(static_cast<const char*>(data), std::streamsize(size));
    return bool(f);
}

inline bool read_file(const std::string& path, std::vector<unsigned char>& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return true;
}

}  // namespace r1test

// Skips the current doctest case with a clear message when the fixtures are absent.
#define R1_REQUIRE_FIXTURES(dir)                                                                  \
    std::string dir = r1test::fixtures_dir();                                                     \
    if (dir.empty()) {                                                                            \
        MESSAGE("SKIPPED: shared fixtures not found (set R1_FIXTURES_DIR to ../shared/fixtures)"); \
        return;                                                                                   \
    }
