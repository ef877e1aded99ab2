// Errors inside the runtime. Internal code throws r1::Error; src/api.cpp is the one place that catches it and
// turns it into an r1_status plus the thread's last-error message. No exception crosses the C ABI.
#pragma once

#include <exception>
#include <string>

#include "r1.h"

namespace r1 {

class Error : public std::exception {
public:
    Error(r1_status status, std::string message) : status_(status), message_(std::move(message)) {}
    r1_status status() const noexcept { return status_; }
    const char* what() const noexcept override { return message_.c_str(); }
    const std::string& message() const noexcept { return message_; }

private:
    r1_status status_;
    std::string message_;
};

// printf-style formatting into a std::string.
std::string format(const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

// Throws Error(status, formatted message).
[[noreturn]] void fail(r1_status status, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

}  // namespace r1
