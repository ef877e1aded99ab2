// The backend registry: the built-in backends and plugins loaded at run time. It is the library's one piece of
// process-wide state; it is thread-safe, created on first use and never destroyed (plugins are never unloaded
// from static destructors: their code may still be running in other threads at exit).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "backend.h"

namespace r1 {

struct BackendEntry {
    const r1b_backend_iface* iface = nullptr;
    void* ctx = nullptr;               // from iface->init; null when init failed
    std::string origin;                // "built-in" or the plugin's path
    r1_status init_status = R1_OK;     // why the backend is unavailable, when it is
    std::string init_message;
    std::vector<r1b_device_info> devices;
};

class Registry {
public:
    static Registry& instance();

    // Entries are never removed or moved; pointers stay valid for the life of the process.
    size_t count() const;
    const BackendEntry* at(size_t index) const;
    const BackendEntry* find(const std::string& name) const;

    // dlopen()s a plugin and registers its backend; returns its index. A plugin whose backend name is already
    // registered returns the existing index. Throws r1::Error.
    size_t load_plugin(const std::string& path);

private:
    Registry();
    size_t add(const r1b_backend_iface* iface, const std::string& origin);

    mutable std::mutex mutex_;
    std::vector<BackendEntry*> entries_;
};

// Throws r1::Error(status, message) when status is an error; the message is the one the backend recorded
// through the host's set_error during the failing call, prefixed with `what`.
void check_backend(r1_status status, const char* what);

// The host services every backend receives.
const r1b_host* backend_host();

}  // namespace r1
