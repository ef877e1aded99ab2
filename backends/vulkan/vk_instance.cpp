// Backend lifetime, physical devices and logical devices.
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "vk_context.h"
#include "vulkan_backend.h"

namespace r1::vulkan {

void report(const Backend* b, const char* fmt, ...) {
    char msg[768];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    if (b && b->host.set_error) b->host.set_error(b->host.host_ctx, msg);
}

void log_info(const Backend* b, const char* fmt, ...) {
    if (!b || !b->host.log) return;
    char msg[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    b->host.log(b->host.host_ctx, R1_LOG_INFO, msg);
}

namespace {

// True when the comma-separated environment variable `var` lists `word` (test switches, e.g.
// R1_VULKAN_DISABLE=fp16,intdot,subgroup to exercise the fallback shaders on a device that has the features).
bool env_lists(const char* var, const char* word) {
    const char* v = std::getenv(var);
    if (!v) return false;
    const size_t n = std::strlen(word);
    for (const char* p = v; *p;) {
        const char* end = std::strchr(p, ',');
        const size_t len = end ? size_t(end - p) : std::strlen(p);
        if (len == n && std::strncmp(p, word, n) == 0) return true;
        if (!end) break;
        p = end + 1;
    }
    return false;
}

bool env_enabled(const char* var) {
    const char* v = std::getenv(var);
    return v && *v && std::strcmp(v, "0") != 0;
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT,
                                                const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
    auto* b = static_cast<Backend*>(user);
    const bool error = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    std::string text = error ? "error: " : "warning: ";
    if (data && data->pMessageIdName) text += std::string(data->pMessageIdName) + ": ";
    if (data && data->pMessage) text += data->pMessage;
    try {
        std::lock_guard<std::mutex> lock(b->messages_mutex);
        b->messages.push_back(text);
    } catch (...) {
    }
    if (b->host.log) b->host.log(b->host.host_ctx, error ? R1_LOG_ERROR : R1_LOG_WARN, text.c_str());
    return VK_FALSE;
}

bool has_extension(const std::vector<VkExtensionProperties>& list, const char* name) {
    for (const VkExtensionProperties& e : list)
        if (std::strcmp(e.extensionName, name) == 0) return true;
    return false;
}

std::vector<VkExtensionProperties> instance_extensions(Backend& b, const char* layer) {
    uint32_t n = 0;
    std::vector<VkExtensionProperties> out;
    if (b.vk.vkEnumerateInstanceExtensionProperties(layer, &n, nullptr) != VK_SUCCESS) return out;
    out.resize(n);
    if (b.vk.vkEnumerateInstanceExtensionProperties(layer, &n, out.data()) != VK_SUCCESS) out.clear();
    out.resize(n);
    return out;
}

bool has_layer(Backend& b, const char* name) {
    uint32_t n = 0;
    if (b.vk.vkEnumerateInstanceLayerProperties(&n, nullptr) != VK_SUCCESS) return false;
    std::vector<VkLayerProperties> layers(n);
    if (b.vk.vkEnumerateInstanceLayerProperties(&n, layers.data()) != VK_SUCCESS) return false;
    for (uint32_t i = 0; i < n; ++i)
        if (std::strcmp(layers[i].layerName, name) == 0) return true;
    return false;
}

r1b_device_kind kind_of(VkPhysicalDeviceType type) {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return R1B_DEVICE_DISCRETE_GPU;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return R1B_DEVICE_INTEGRATED_GPU;
        default: return R1B_DEVICE_VIRTUAL;  // virtual GPUs, CPU implementations (lavapipe), others
    }
}

int rank_of(VkPhysicalDeviceType type) {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
        default: return 4;
    }
}

void enumerate_devices(Backend& b) {
    uint32_t n = 0;
    if (b.vk.vkEnumeratePhysicalDevices(b.instance, &n, nullptr) != VK_SUCCESS || n == 0) return;
    std::vector<VkPhysicalDevice> handles(n);
    if (b.vk.vkEnumeratePhysicalDevices(b.instance, &n, handles.data()) != VK_SUCCESS) return;
    handles.resize(n);
    for (VkPhysicalDevice h : handles) {
        PhysicalDevice pd;
        pd.handle = h;
        b.vk.vkGetPhysicalDeviceProperties(h, &pd.properties);
        if (pd.properties.apiVersion < VK_API_VERSION_1_2) {
            log_info(&b, "vulkan: skipping %s: it supports Vulkan %u.%u, r1 needs 1.2", pd.properties.deviceName,
                     VK_API_VERSION_MAJOR(pd.properties.apiVersion), VK_API_VERSION_MINOR(pd.properties.apiVersion));
            continue;
        }
        uint32_t nq = 0;
        b.vk.vkGetPhysicalDeviceQueueFamilyProperties(h, &nq, nullptr);
        std::vector<VkQueueFamilyProperties> families(nq);
        b.vk.vkGetPhysicalDeviceQueueFamilyProperties(h, &nq, families.data());
        bool found = false;
        for (uint32_t q = 0; q < nq && !found; ++q)
            if (families[q].queueFlags & VK_QUEUE_COMPUTE_BIT) {
                pd.queue_family = q;
                found = true;
            }
        if (!found) continue;
        VkPhysicalDeviceMemoryProperties mem;
        b.vk.vkGetPhysicalDeviceMemoryProperties(h, &mem);
        for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
            if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) pd.memory_total += mem.memoryHeaps[i].size;
        uint32_t ne = 0;
        b.vk.vkEnumerateDeviceExtensionProperties(h, nullptr, &ne, nullptr);
        std::vector<VkExtensionProperties> exts(ne);
        b.vk.vkEnumerateDeviceExtensionProperties(h, nullptr, &ne, exts.data());
        exts.resize(ne);
        pd.has_integer_dot = has_extension(exts, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
        pd.has_memory_budget = has_extension(exts, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
        pd.kind = kind_of(pd.properties.deviceType);
        b.devices.push_back(pd);
    }
    std::stable_sort(b.devices.begin(), b.devices.end(), [](const PhysicalDevice& x, const PhysicalDevice& y) {
        return rank_of(x.properties.deviceType) < rank_of(y.properties.deviceType);
    });
}

void destroy_device(Device* d) {
    if (d->device) {
        d->vk.vkDeviceWaitIdle(d->device);
        release_device_memory(*d);
        destroy_allocation(*d, d->dummy);
        destroy_pipelines(*d);
        d->vk.vkDestroyDevice(d->device, nullptr);
    }
    delete d;
}

}  // namespace

r1_status backend_init(const r1b_host* host, void** ctx) {
    auto* b = new (std::nothrow) Backend;
    if (!b) return R1_ERR_OUT_OF_MEMORY;
    if (host) b->host = *host;
    std::string error;
    if (!load_vulkan_library(b->vk, error)) {
        report(b, "%s", error.c_str());
        delete b;
        return R1_ERR_UNSUPPORTED;
    }
    auto enumerate_version =
        reinterpret_cast<PFN_vkEnumerateInstanceVersion>(b->vk.vkGetInstanceProcAddr(VK_NULL_HANDLE, "vkEnumerateInstanceVersion"));
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (enumerate_version) enumerate_version(&loader_version);
    if (loader_version < VK_API_VERSION_1_1) {
        report(b, "the Vulkan loader supports Vulkan 1.0 only; the Vulkan backend needs 1.2");
        delete b;
        return R1_ERR_UNSUPPORTED;
    }

    std::vector<const char*> layers, extensions;
    VkDebugUtilsMessengerCreateInfoEXT messenger_info{};
    messenger_info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
    messenger_info.messageSeverity =
        VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    messenger_info.pfnUserCallback = on_debug_message;
    messenger_info.pUserData = b;
    VkValidationFeatureEnableEXT sync_validation = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT validation_features{};
    validation_features.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT;
    validation_features.enabledValidationFeatureCount = 1;
    validation_features.pEnabledValidationFeatures = &sync_validation;
    const void* next = nullptr;
    if (env_enabled("R1_VULKAN_VALIDATION")) {
        const char* layer = "VK_LAYER_KHRONOS_validation";
        std::vector<VkExtensionProperties> layer_exts = instance_extensions(*b, layer);
        std::vector<VkExtensionProperties> global_exts = instance_extensions(*b, nullptr);
        const bool debug_utils = has_extension(layer_exts, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
                                 has_extension(global_exts, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
        if (has_layer(*b, layer) && debug_utils) {
            layers.push_back(layer);
            extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
            messenger_info.pNext = nullptr;
            next = &messenger_info;
            if (has_extension(layer_exts, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
                extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
                validation_features.pNext = &messenger_info;
                next = &validation_features;
            }
            b->validation = true;
        } else if (b->host.log) {
            b->host.log(b->host.host_ctx, R1_LOG_WARN,
                        "vulkan: R1_VULKAN_VALIDATION is set but VK_LAYER_KHRONOS_validation is not installed");
        }
    }

    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "r1";
    app.pEngineName = "r1";
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    info.pNext = next;
    info.pApplicationInfo = &app;
    info.enabledLayerCount = uint32_t(layers.size());
    info.ppEnabledLayerNames = layers.data();
    info.enabledExtensionCount = uint32_t(extensions.size());
    info.ppEnabledExtensionNames = extensions.data();
    VkResult r = b->vk.vkCreateInstance(&info, nullptr, &b->instance);
    if (r != VK_SUCCESS) {
        if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
            report(b, "no Vulkan driver is installed (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER)");
        else
            report(b, "vkCreateInstance failed: %s", vk_result_name(r));
        delete b;
        return r == VK_ERROR_OUT_OF_HOST_MEMORY ? R1_ERR_OUT_OF_MEMORY : R1_ERR_UNSUPPORTED;
    }
    if (!load_instance_functions(b->vk, b->instance, error)) {
        report(b, "%s", error.c_str());
        auto destroy = reinterpret_cast<PFN_vkDestroyInstance>(b->vk.vkGetInstanceProcAddr(b->instance, "vkDestroyInstance"));
        if (destroy) destroy(b->instance, nullptr);
        delete b;
        return R1_ERR_BACKEND;
    }
    if (b->validation) {
        if (!b->vk.vkCreateDebugUtilsMessengerEXT ||
            b->vk.vkCreateDebugUtilsMessengerEXT(b->instance, &messenger_info, nullptr, &b->messenger) != VK_SUCCESS)
            b->validation = false;
        else
            log_info(b, "vulkan: VK_LAYER_KHRONOS_validation enabled with synchronization validation");
    }
    enumerate_devices(*b);
    *ctx = b;
    return R1_OK;
}

void backend_shutdown(void* ctx) {
    auto* b = static_cast<Backend*>(ctx);
    if (!b) return;
    for (Device* d : b->opened)
        if (d) destroy_device(d);
    if (b->messenger) b->vk.vkDestroyDebugUtilsMessengerEXT(b->instance, b->messenger, nullptr);
    if (b->instance) b->vk.vkDestroyInstance(b->instance, nullptr);
    // The loader library stays loaded: drivers may keep threads running in it.
    delete b;
}

int32_t device_count(void* ctx) {
    auto* b = static_cast<Backend*>(ctx);
    return b ? int32_t(b->devices.size()) : 0;
}

r1_status device_info(void* ctx, int32_t index, r1b_device_info* out) {
    auto* b = static_cast<Backend*>(ctx);
    if (index < 0 || size_t(index) >= b->devices.size()) {
        report(b, "the Vulkan backend has %zu device(s); device %d does not exist", b->devices.size(), index);
        return R1_ERR_OUT_OF_RANGE;
    }
    const PhysicalDevice& pd = b->devices[size_t(index)];
    std::memset(out, 0, sizeof *out);
    std::snprintf(out->name, sizeof out->name, "%.127s", pd.properties.deviceName);
    out->kind = pd.kind;
    out->memory_total = pd.memory_total;
    if (pd.has_memory_budget) {
        VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{};
        budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
        VkPhysicalDeviceMemoryProperties2 props{};
        props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
        props.pNext = &budget;
        b->vk.vkGetPhysicalDeviceMemoryProperties2(pd.handle, &props);
        for (uint32_t i = 0; i < props.memoryProperties.memoryHeapCount; ++i)
            if ((props.memoryProperties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
                budget.heapBudget[i] > budget.heapUsage[i])
                out->memory_free += budget.heapBudget[i] - budget.heapUsage[i];
    }
    return R1_OK;
}

namespace {

// Creates the logical device of physical device `pd` with every optional feature the backend can use enabled.
r1_status create_device(Backend* b, const PhysicalDevice& pd, Device** out) {
    auto* d = new (std::nothrow) Device;
    if (!d) return R1_ERR_OUT_OF_MEMORY;
    d->backend = b;
    d->physical = &pd;

    // What the device offers.
    VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dot_features{};
    dot_features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR;
    VkPhysicalDeviceVulkan12Features features12{};
    features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    features12.pNext = pd.has_integer_dot ? &dot_features : nullptr;
    VkPhysicalDeviceFeatures2 features{};
    features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    features.pNext = &features12;
    b->vk.vkGetPhysicalDeviceFeatures2(pd.handle, &features);
    VkPhysicalDeviceSubgroupProperties subgroup{};
    subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    VkPhysicalDeviceMaintenance3Properties m3{};
    m3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
    subgroup.pNext = &m3;
    VkPhysicalDeviceProperties2 props{};
    props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    props.pNext = &subgroup;
    b->vk.vkGetPhysicalDeviceProperties2(pd.handle, &props);

    d->supported.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                                       (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT) &&
                                       (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    d->supported.fp16 = features12.shaderFloat16;
    d->supported.integer_dot = pd.has_integer_dot && dot_features.shaderIntegerDotProduct;

    const VkPhysicalDeviceLimits& lim = pd.properties.limits;
    d->limits.max_storage_range = lim.maxStorageBufferRange;
    d->limits.storage_alignment = std::max<uint64_t>(lim.minStorageBufferOffsetAlignment, 16);
    for (int i = 0; i < 3; ++i) d->limits.max_groups[i] = lim.maxComputeWorkGroupCount[i];
    d->limits.max_shared = lim.maxComputeSharedMemorySize;
    d->limits.max_allocation = m3.maxMemoryAllocationSize ? m3.maxMemoryAllocationSize : (uint64_t(1) << 31);
    if (d->limits.max_shared < 16384) {
        report(b, "%s has %u bytes of compute shared memory; the Vulkan backend needs 16 KiB", pd.properties.deviceName,
               d->limits.max_shared);
        delete d;
        return R1_ERR_UNSUPPORTED;
    }

    VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR enable_dot{};
    enable_dot.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR;
    enable_dot.shaderIntegerDotProduct = VK_TRUE;
    VkPhysicalDeviceVulkan12Features enable12{};
    enable12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    enable12.shaderFloat16 = d->supported.fp16 ? VK_TRUE : VK_FALSE;
    enable12.pNext = d->supported.integer_dot ? &enable_dot : nullptr;
    std::vector<const char*> extensions;
    if (d->supported.integer_dot) extensions.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info{};
    queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue_info.queueFamilyIndex = pd.queue_family;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkDeviceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    info.pNext = &enable12;
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue_info;
    info.enabledExtensionCount = uint32_t(extensions.size());
    info.ppEnabledExtensionNames = extensions.data();
    VkResult r = b->vk.vkCreateDevice(pd.handle, &info, nullptr, &d->device);
    if (r != VK_SUCCESS) {
        report(b, "vkCreateDevice failed on %s: %s", pd.properties.deviceName, vk_result_name(r));
        d->device = VK_NULL_HANDLE;
        delete d;
        return r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? R1_ERR_OUT_OF_MEMORY
                                                                                         : R1_ERR_BACKEND;
    }
    std::string error;
    if (!load_device_functions(b->vk, d->device, d->vk, error)) {
        report(b, "%s", error.c_str());
        auto destroy = reinterpret_cast<PFN_vkDestroyDevice>(b->vk.vkGetDeviceProcAddr(d->device, "vkDestroyDevice"));
        if (destroy) destroy(d->device, nullptr);
        delete d;
        return R1_ERR_BACKEND;
    }
    d->vk.vkGetDeviceQueue(d->device, pd.queue_family, 0, &d->queue);
    b->vk.vkGetPhysicalDeviceMemoryProperties(pd.handle, &d->memory);
    if (!create_pipeline_layout(*d, error) || !create_allocation(*d, 256, MemoryUse::Device, d->dummy, error)) {
        report(b, "opening %s: %s", pd.properties.deviceName, error.c_str());
        destroy_device(d);
        return R1_ERR_BACKEND;
    }
    *out = d;
    return R1_OK;
}

}  // namespace

r1_status device_open(void* ctx, int32_t index, const r1b_device_params* params, r1b_device** out) {
    auto* b = static_cast<Backend*>(ctx);
    if (index < 0 || size_t(index) >= b->devices.size()) {
        report(b, "the Vulkan backend has %zu device(s); device %d does not exist", b->devices.size(), index);
        return R1_ERR_OUT_OF_RANGE;
    }
    Device* d = nullptr;
    {
        std::lock_guard<std::mutex> lock(b->open_mutex);
        if (b->opened.size() < b->devices.size()) b->opened.resize(b->devices.size(), nullptr);
        if (!b->opened[size_t(index)]) {
            const r1_status st = create_device(b, b->devices[size_t(index)], &b->opened[size_t(index)]);
            if (st != R1_OK) return st;
        }
        d = b->opened[size_t(index)];
    }
    auto* h = new (std::nothrow) DeviceHandle;
    if (!h) return R1_ERR_OUT_OF_MEMORY;
    h->device = d;
    h->exact = params && params->exact_math != 0;
    h->features = d->supported;
    if (env_lists("R1_VULKAN_DISABLE", "subgroup")) h->features.subgroup_arithmetic = false;
    if (env_lists("R1_VULKAN_DISABLE", "fp16")) h->features.fp16 = false;
    if (env_lists("R1_VULKAN_DISABLE", "intdot")) h->features.integer_dot = false;
    log_info(b, "vulkan: opened %s (subgroup arithmetic: %s, fp16: %s, int8 dot product: %s, exact math: %s)",
             d->physical->properties.deviceName, h->features.subgroup_arithmetic ? "yes" : "no",
             h->features.fp16 ? "yes" : "no", h->features.integer_dot ? "yes" : "no", h->exact ? "yes" : "no");
    *out = reinterpret_cast<r1b_device*>(h);
    return R1_OK;
}

// The logical device stays open for the next handle (and its compiled pipelines with it) until shutdown.
void device_close(r1b_device* device) { delete reinterpret_cast<DeviceHandle*>(device); }

bool validation_active(void* backend_ctx) {
    auto* b = static_cast<Backend*>(backend_ctx);
    return b && b->validation;
}

int64_t live_allocations(void* backend_ctx) {
    auto* b = static_cast<Backend*>(backend_ctx);
    if (!b) return 0;
    std::lock_guard<std::mutex> lock(b->open_mutex);
    int64_t n = 0;
    for (const Device* d : b->opened)
        if (d) n += d->live_allocations.load();
    return n;
}

std::vector<std::string> validation_messages(void* backend_ctx) {
    auto* b = static_cast<Backend*>(backend_ctx);
    if (!b) return {};
    std::lock_guard<std::mutex> lock(b->messages_mutex);
    return b->messages;
}

}  // namespace r1::vulkan
