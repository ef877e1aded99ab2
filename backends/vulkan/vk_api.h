// The Vulkan entry points the backend uses, loaded at run time: libvulkan.so.1 is dlopen()ed and every function
// comes from vkGetInstanceProcAddr / vkGetDeviceProcAddr, so neither the library nor a program linking it needs
// the Vulkan loader to be installed (compiled with VK_NO_PROTOTYPES against the Khronos headers).
#pragma once

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include <string>

namespace r1::vulkan {

// Functions available before an instance exists.
#define R1_VK_GLOBAL_FUNCTIONS(X)            \
    X(vkCreateInstance)                      \
    X(vkEnumerateInstanceExtensionProperties) \
    X(vkEnumerateInstanceLayerProperties)

// Instance-level functions (the debug-utils pair is optional: present only with VK_EXT_debug_utils).
#define R1_VK_INSTANCE_FUNCTIONS(X)                  \
    X(vkDestroyInstance)                             \
    X(vkEnumeratePhysicalDevices)                    \
    X(vkGetPhysicalDeviceProperties)                 \
    X(vkGetPhysicalDeviceProperties2)                \
    X(vkGetPhysicalDeviceFeatures2)                  \
    X(vkGetPhysicalDeviceMemoryProperties)           \
    X(vkGetPhysicalDeviceMemoryProperties2)          \
    X(vkGetPhysicalDeviceQueueFamilyProperties)      \
    X(vkEnumerateDeviceExtensionProperties)          \
    X(vkCreateDevice)                                \
    X(vkGetDeviceProcAddr)

#define R1_VK_INSTANCE_OPTIONAL_FUNCTIONS(X) \
    X(vkCreateDebugUtilsMessengerEXT)        \
    X(vkDestroyDebugUtilsMessengerEXT)

// Device-level functions.
#define R1_VK_DEVICE_FUNCTIONS(X)        \
    X(vkDestroyDevice)                   \
    X(vkGetDeviceQueue)                  \
    X(vkDeviceWaitIdle)                  \
    X(vkQueueSubmit)                     \
    X(vkAllocateMemory)                  \
    X(vkFreeMemory)                      \
    X(vkMapMemory)                       \
    X(vkUnmapMemory)                     \
    X(vkCreateBuffer)                    \
    X(vkDestroyBuffer)                   \
    X(vkGetBufferMemoryRequirements)     \
    X(vkBindBufferMemory)                \
    X(vkCreateShaderModule)              \
    X(vkDestroyShaderModule)             \
    X(vkCreatePipelineCache)             \
    X(vkDestroyPipelineCache)            \
    X(vkCreateComputePipelines)          \
    X(vkDestroyPipeline)                 \
    X(vkCreatePipelineLayout)            \
    X(vkDestroyPipelineLayout)           \
    X(vkCreateDescriptorSetLayout)       \
    X(vkDestroyDescriptorSetLayout)      \
    X(vkCreateDescriptorPool)            \
    X(vkDestroyDescriptorPool)           \
    X(vkAllocateDescriptorSets)          \
    X(vkUpdateDescriptorSets)            \
    X(vkCreateCommandPool)               \
    X(vkDestroyCommandPool)              \
    X(vkResetCommandPool)                \
    X(vkAllocateCommandBuffers)          \
    X(vkBeginCommandBuffer)              \
    X(vkEndCommandBuffer)                \
    X(vkCmdBindPipeline)                 \
    X(vkCmdBindDescriptorSets)           \
    X(vkCmdPushConstants)                \
    X(vkCmdDispatch)                     \
    X(vkCmdPipelineBarrier)              \
    X(vkCmdCopyBuffer)                   \
    X(vkCmdFillBuffer)                   \
    X(vkCreateFence)                     \
    X(vkDestroyFence)                    \
    X(vkWaitForFences)                   \
    X(vkResetFences)

#define R1_VK_DECLARE(name) PFN_##name name = nullptr;

// The loaded library and its global and instance-level functions.
struct InstanceApi {
    void* library = nullptr;  // dlopen handle, never closed (drivers may keep threads running)
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
    R1_VK_GLOBAL_FUNCTIONS(R1_VK_DECLARE)
    R1_VK_INSTANCE_FUNCTIONS(R1_VK_DECLARE)
    R1_VK_INSTANCE_OPTIONAL_FUNCTIONS(R1_VK_DECLARE)
};

struct DeviceApi {
    R1_VK_DEVICE_FUNCTIONS(R1_VK_DECLARE)
};

#undef R1_VK_DECLARE

// Opens libvulkan.so.1 (or libvulkan.so) and loads the global functions. False with a message on failure.
bool load_vulkan_library(InstanceApi& api, std::string& error);

// Loads the instance-level functions of `instance`. False (naming the first missing one) on failure.
bool load_instance_functions(InstanceApi& api, VkInstance instance, std::string& error);

// Loads the device-level functions of `device`.
bool load_device_functions(const InstanceApi& api, VkDevice device, DeviceApi& out, std::string& error);

// "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc.
const char* vk_result_name(VkResult result);

}  // namespace r1::vulkan
