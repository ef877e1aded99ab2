#include "log.h"

#include <cstdarg>
#include <cstdio>
#include <string>

namespace r1 {

void Log::write(r1_log_level level, const char* fmt, ...) const {
    if (!enabled(level)) return;
    char stack[512];
    va_list args;
    va_start(args, fmt);
    int n = std::vsnprintf(stack, sizeof stack, fmt, args);
    va_end(args);
    if (n < 0) return;
    if (size_t(n) < sizeof stack) {
        fn_(user_data_, level, stack);
        return;
    }
    std::string big(size_t(n) + 1, '\0');
    va_start(args, fmt);
    std::vsnprintf(&big[0], big.size(), fmt, args);
    va_end(args);
    big.resize(size_t(n));
    fn_(user_data_, level, big.c_str());
}

}  // namespace r1
