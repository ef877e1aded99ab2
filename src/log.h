// Logging to the host's callback. Each model (and later each session) owns a Log; there is no global logger.
#pragma once

#include "r1.h"

namespace r1 {

class Log {
public:
    Log() = default;
    Log(r1_log_fn fn, void* user_data, r1_log_level min_level)
        : fn_(fn), user_data_(user_data), min_level_(min_level == R1_LOG_DEFAULT ? R1_LOG_INFO : min_level) {}

    bool enabled(r1_log_level level) const { return fn_ != nullptr && level >= min_level_; }

    // Formats and delivers one message when the level is enabled.
    void write(r1_log_level level, const char* fmt, ...) const
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

private:
    r1_log_fn fn_ = nullptr;
    void* user_data_ = nullptr;
    r1_log_level min_level_ = R1_LOG_INFO;
};

}  // namespace r1
