#include "error.h"

#include <cstdarg>
#include <cstdio>

namespace r1 {

static std::string vformat(const char* fmt, va_list args) {
    va_list copy;
    va_copy(copy, args);
    char stack[256];
    int n = std::vsnprintf(stack, sizeof stack, fmt, copy);
    va_end(copy);
    if (n < 0) return std::string(fmt);
    if (size_t(n) < sizeof stack) return std::string(stack, size_t(n));
    std::string out(size_t(n) + 1, '\0');
    std::vsnprintf(&out[0], out.size(), fmt, args);
    out.resize(size_t(n));
    return out;
}

std::string format(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    std::string s = vformat(fmt, args);
    va_end(args);
    return s;
}

void fail(r1_status status, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    std::string s = vformat(fmt, args);
    va_end(args);
    throw Error(status, std::move(s));
}

}  // namespace r1
