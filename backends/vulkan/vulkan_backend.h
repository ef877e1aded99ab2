// The Vulkan backend: compute shaders on any Vulkan 1.2 device (discrete, integrated, or Mesa's lavapipe on the
// CPU). The Vulkan loader is loaded at run time (dlopen), so a build with this backend runs where Vulkan is
// absent: the backend then reports the reason and zero devices. See backends/vulkan/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../../src/backend/backend.h"

namespace r1::vulkan {

const r1b_backend_iface* vulkan_backend_iface();

// Validation, for tests. When R1_VULKAN_VALIDATION=1 is in the environment as a backend initialises, it enables
// VK_LAYER_KHRONOS_validation (with synchronization validation) and a debug-utils messenger that records every
// warning and error. backend_ctx is the context init() returned (the registry's BackendEntry::ctx).
// Whether the layer and the messenger are active for this backend context:
bool validation_active(void* backend_ctx);
// A copy of the messages recorded so far (each "severity: id: text").
std::vector<std::string> validation_messages(void* backend_ctx);
// Device memory objects alive on every opened device: back to its earlier value once the models and sessions
// created since are freed (a test for leaked Vulkan memory, which LeakSanitizer cannot see inside a driver).
int64_t live_allocations(void* backend_ctx);

}  // namespace r1::vulkan
