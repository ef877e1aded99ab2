#include "vk_api.h"

#include <dlfcn.h>

namespace r1::vulkan {

bool load_vulkan_library(InstanceApi& api, std::string& error) {
    // RTLD_LOCAL: the loader's symbols stay out of the global namespace of the host program.
    for (const char* name : {"libvulkan.so.1", "libvulkan.so"}) {
        api.library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (api.library) break;
    }
    if (!api.library) {
        const char* why = dlerror();
        error = std::string("cannot load the Vulkan loader (libvulkan.so.1): ") + (why ? why : "not found");
        return false;
    }
    api.vkGetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(api.library, "vkGetInstanceProcAddr"));
    if (!api.vkGetInstanceProcAddr) {
        error = "libvulkan.so.1 has no vkGetInstanceProcAddr";
        return false;
    }
#define R1_VK_LOAD_GLOBAL(name)                                                                      \
    api.name = reinterpret_cast<PFN_##name>(api.vkGetInstanceProcAddr(VK_NULL_HANDLE, #name));      \
    if (!api.name) {                                                                                 \
        error = "the Vulkan loader does not provide " #name;                                        \
        return false;                                                                                \
    }
    R1_VK_GLOBAL_FUNCTIONS(R1_VK_LOAD_GLOBAL)
#undef R1_VK_LOAD_GLOBAL
    return true;
}

bool load_instance_functions(InstanceApi& api, VkInstance instance, std::string& error) {
#define R1_VK_LOAD_INSTANCE(name)                                                               \
    api.name = reinterpret_cast<PFN_##name>(api.vkGetInstanceProcAddr(instance, #name));       \
    if (!api.name) {                                                                            \
        error = "the Vulkan instance does not provide " #name;                                 \
        return false;                                                                           \
    }
    R1_VK_INSTANCE_FUNCTIONS(R1_VK_LOAD_INSTANCE)
#undef R1_VK_LOAD_INSTANCE
#define R1_VK_LOAD_OPTIONAL(name) api.name = reinterpret_cast<PFN_##name>(api.vkGetInstanceProcAddr(instance, #name));
    R1_VK_INSTANCE_OPTIONAL_FUNCTIONS(R1_VK_LOAD_OPTIONAL)
#undef R1_VK_LOAD_OPTIONAL
    return true;
}

bool load_device_functions(const InstanceApi& api, VkDevice device, DeviceApi& out, std::string& error) {
#define R1_VK_LOAD_DEVICE(name)                                                          \
    out.name = reinterpret_cast<PFN_##name>(api.vkGetDeviceProcAddr(device, #name));    \
    if (!out.name) {                                                                     \
        error = "the Vulkan device does not provide " #name;                            \
        return false;                                                                    \
    }
    R1_VK_DEVICE_FUNCTIONS(R1_VK_LOAD_DEVICE)
#undef R1_VK_LOAD_DEVICE
    return true;
}

const char* vk_result_name(VkResult result) {
    switch (result) {
        case VK_SUCCESS: return "VK_SUCCESS";
        case VK_NOT_READY: return "VK_NOT_READY";
        case VK_TIMEOUT: return "VK_TIMEOUT";
        case VK_INCOMPLETE: return "VK_INCOMPLETE";
        case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
        case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
        case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
        case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
        case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
        case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
        case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
        case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
        case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
        case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
        case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
        case VK_ERROR_FRAGMENTATION: return "VK_ERROR_FRAGMENTATION";
        default: return "VK_ERROR_UNKNOWN";
    }
}

}  // namespace r1::vulkan
