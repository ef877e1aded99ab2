// Milliseconds on a monotonic clock, for timings reported to the caller.
#pragma once

#include <chrono>

namespace r1 {

inline double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace r1
