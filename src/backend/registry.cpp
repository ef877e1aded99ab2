#include "registry.h"

#include <dlfcn.h>

#include <cstring>

#include "../../backends/cpu/cpu_backend.h"
#include "../error.h"

#if defined(R1_WITH_VULKAN)
#include "../../backends/vulkan/vulkan_backend.h"
#endif

namespace r1 {
namespace {

thread_local std::string t_backend_error;

void host_set_error(void*, const char* message) {
    try {
        t_backend_error = message ? message : "";
    } catch (...) {
    }
}

void host_log(void*, r1_log_level, const char*) {
    // Backends log through the model's logger in a later version; the registry itself is silent.
}

const r1b_host kHost = {sizeof(r1b_host), host_set_error, host_log, nullptr};

}  // namespace

const r1b_host* backend_host() { return &kHost; }

void check_backend(r1_status status, const char* what) {
    if (status == R1_OK) return;
    std::string message = t_backend_error.empty() ? r1_status_string(status) : t_backend_error;
    t_backend_error.clear();
    fail(status, "%s: %s", what, message.c_str());
}

Registry& Registry::instance() {
    static Registry* registry = new Registry();  // never destroyed, on purpose (see registry.h)
    return *registry;
}

Registry::Registry() {
    add(cpu::cpu_backend_iface(), "built-in");
#if defined(R1_WITH_VULKAN)
    add(vulkan::vulkan_backend_iface(), "built-in");
#endif
}

size_t Registry::add(const r1b_backend_iface* iface, const std::string& origin) {
    auto* e = new BackendEntry;
    e->iface = iface;
    e->origin = origin;
    t_backend_error.clear();
    e->init_status = iface->init(&kHost, &e->ctx);
    if (e->init_status != R1_OK) {
        e->init_message = t_backend_error.empty() ? r1_status_string(e->init_status) : t_backend_error;
        e->ctx = nullptr;
    } else {
        int32_t n = iface->device_count(e->ctx);
        for (int32_t i = 0; i < n; ++i) {
            r1b_device_info info;
            std::memset(&info, 0, sizeof info);
            if (iface->device_info(e->ctx, i, &info) == R1_OK) e->devices.push_back(info);
        }
    }
    t_backend_error.clear();
    entries_.push_back(e);
    return entries_.size() - 1;
}

size_t Registry::count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
}

const BackendEntry* Registry::at(size_t index) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return index < entries_.size() ? entries_[index] : nullptr;
}

const BackendEntry* Registry::find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const BackendEntry* e : entries_)
        if (name == e->iface->name) return e;
    return nullptr;
}

size_t Registry::load_plugin(const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = dlerror();
        fail(R1_ERR_IO, "cannot load backend plugin %s: %s", path.c_str(), why ? why : "unknown error");
    }
    auto entry = reinterpret_cast<r1b_entry_fn>(dlsym(handle, R1_BACKEND_ENTRY_NAME));
    if (!entry) {
        dlclose(handle);
        fail(R1_ERR_FORMAT, "%s is not an r1 backend plugin (no %s function)", path.c_str(), R1_BACKEND_ENTRY_NAME);
    }
    const r1b_backend_iface* iface = entry(R1_BACKEND_API_VERSION);
    if (!iface || iface->api_version != R1_BACKEND_API_VERSION || iface->struct_size < R1B_IFACE_MIN_SIZE) {
        unsigned version = iface ? iface->api_version : 0;
        dlclose(handle);
        fail(R1_ERR_UNSUPPORTED, "backend plugin %s speaks backend API version %u; this library needs %d",
             path.c_str(), version, R1_BACKEND_API_VERSION);
    }
    for (size_t i = 0; i < entries_.size(); ++i)
        if (std::strcmp(entries_[i]->iface->name, iface->name) == 0) return i;  // keep the handle loaded
    // The handle is intentionally never closed: the backend's code must stay mapped.
    return add(iface, path);
}

}  // namespace r1
