// The Vulkan backend's objects and the functions its files share. Responsibilities:
//   vk_instance.cpp   loader, instance (validation layer and messenger), physical devices, logical devices
//   vk_memory.cpp     allocations, buffers, weights (sub-allocated from pool blocks, uploaded through staging)
//   vk_pipelines.cpp  the embedded SPIR-V, the one pipeline layout, pipelines created on first use and cached
//   vk_stream.cpp     streams: command buffers, staging of transfers, descriptor sets, barriers, submission
//   vk_ops.cpp        each operation of the interface recorded as dispatches
//   vk_backend.cpp    the interface table
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "../../src/backend/backend.h"
#include "vk_api.h"

namespace r1::vulkan {

// ---------------------------------------------------------------------------------------------------------------
// Backend and devices (vk_instance.cpp)
// ---------------------------------------------------------------------------------------------------------------

struct PhysicalDevice {
    VkPhysicalDevice handle = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties properties{};
    r1b_device_kind kind = R1B_DEVICE_VIRTUAL;
    uint32_t queue_family = 0;     // a family with compute (and therefore transfer) support
    uint64_t memory_total = 0;     // bytes of the device-local heaps
    bool has_integer_dot = false;  // VK_KHR_shader_integer_dot_product (or Vulkan 1.3)
    bool has_memory_budget = false;
};

struct Device;

struct Backend {
    r1b_host host{};
    InstanceApi vk;
    VkInstance instance = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
    bool validation = false;                // the validation layer and the messenger are active
    std::mutex messages_mutex;
    std::vector<std::string> messages;      // every warning and error the messenger received
    std::vector<PhysicalDevice> devices;    // best first: discrete, integrated, virtual/CPU, other
    // One logical device per physical device, created by the first device_open and kept until shutdown, so that
    // every model on it shares the compiled pipelines (compiling them is slow on some drivers, e.g. lavapipe).
    std::mutex open_mutex;
    std::vector<Device*> opened;            // index-aligned with devices; null until opened
};

// Records a failure message for the current call through the host.
void report(const Backend* backend, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void log_info(const Backend* backend, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Optional device features: what a logical device has enabled, and what one opened handle uses (minus those the
// R1_VULKAN_DISABLE test switch turns off).
struct Features {
    bool subgroup_arithmetic = false;  // subgroupAdd in compute shaders
    bool fp16 = false;                 // shaderFloat16 enabled
    bool integer_dot = false;          // shaderIntegerDotProduct enabled (OpSDot)
};

struct Limits {
    uint64_t max_storage_range = 0;    // maxStorageBufferRange (lavapipe: 128 MiB)
    uint64_t storage_alignment = 16;   // minStorageBufferOffsetAlignment
    uint64_t max_allocation = 0;       // maxMemoryAllocationSize
    uint32_t max_groups[3] = {65535, 65535, 65535};
    uint32_t max_shared = 16384;       // maxComputeSharedMemorySize
};

// A VkBuffer bound to its own memory.
struct Allocation {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    uint64_t size = 0;
    uint8_t* mapped = nullptr;  // host-visible allocations only
};

enum class MemoryUse { Device, Upload, Download };

// A block of device memory that weights are sub-allocated from (bump allocation; freed when empty).
struct PoolBlock {
    Allocation allocation;
    uint64_t used = 0;
    uint32_t live = 0;  // chunks placed in it and not yet freed
};

// A logical device (shared by every handle device_open returns for its physical device).
struct Device {
    Backend* backend = nullptr;
    const PhysicalDevice* physical = nullptr;
    VkDevice device = VK_NULL_HANDLE;
    DeviceApi vk;
    VkQueue queue = VK_NULL_HANDLE;
    std::mutex queue_mutex;  // vkQueueSubmit needs external synchronization; streams of many threads share it
    Features supported;  // enabled on the logical device
    Limits limits;
    VkPhysicalDeviceMemoryProperties memory{};

    // Pipelines (vk_pipelines.cpp).
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
    VkPipelineLayout pipeline_layout = VK_NULL_HANDLE;
    VkPipelineCache pipeline_cache = VK_NULL_HANDLE;
    std::mutex pipelines_mutex;
    std::unordered_map<std::string, VkShaderModule> modules;
    std::unordered_map<std::string, VkPipeline> pipelines;

    // Weights (vk_memory.cpp); memory_mutex guards the blocks and the upload context.
    std::mutex memory_mutex;
    std::vector<PoolBlock*> blocks;
    uint64_t next_block_size = 0;
    VkCommandPool upload_pool = VK_NULL_HANDLE;
    VkCommandBuffer upload_cb = VK_NULL_HANDLE;
    VkFence upload_fence = VK_NULL_HANDLE;
    Allocation upload_staging;

    Allocation dummy;  // bound to descriptor slots a shader does not use
    // Bumped whenever a VkBuffer is destroyed: streams then drop their cached descriptor sets, which may name it.
    std::atomic<uint64_t> buffer_generation{0};
    // VkDeviceMemory objects alive on this device (create_allocation / destroy_allocation), for leak tests.
    std::atomic<int64_t> live_allocations{0};
};

// What device_open returns (an r1b_device): the shared logical device plus this opening's choices.
struct DeviceHandle {
    Device* device = nullptr;
    bool exact = false;  // r1b_device_params.exact_math: float activations in every matmul
    Features features;
};

inline Device& device_of(r1b_device* handle) { return *reinterpret_cast<DeviceHandle*>(handle)->device; }

r1_status backend_init(const r1b_host* host, void** ctx);
void backend_shutdown(void* ctx);
int32_t device_count(void* ctx);
r1_status device_info(void* ctx, int32_t index, r1b_device_info* out);
r1_status device_open(void* ctx, int32_t index, const r1b_device_params* params, r1b_device** out);
void device_close(r1b_device* device);

// ---------------------------------------------------------------------------------------------------------------
// Memory, buffers and weights (vk_memory.cpp)
// ---------------------------------------------------------------------------------------------------------------

bool create_allocation(Device& d, uint64_t size, MemoryUse use, Allocation& out, std::string& error);
void destroy_allocation(Device& d, Allocation& a);

// One piece of a buffer: buffers larger than one allocation may hold are made of several (a view must fit in one).
struct Segment {
    Allocation allocation;
    uint64_t begin = 0;  // offset of the segment in the r1 buffer
};

struct Buffer {
    Device* device = nullptr;
    uint64_t size = 0;
    std::vector<Segment> segments;
};

// Rows [row0, row0 + rows) of a weight, stored at `offset` in a pool block.
struct WeightChunk {
    PoolBlock* block = nullptr;
    uint64_t offset = 0;
    uint64_t bytes = 0;
    int64_t row0 = 0;
    int64_t rows = 0;
};

struct Weight {
    Device* device = nullptr;
    int32_t type = 0;
    int64_t rows = 0, cols = 0;
    uint64_t row_bytes = 0;
    std::vector<WeightChunk> chunks;  // several when the tensor exceeds a pool block (maxStorageBufferRange)
    uint64_t bytes = 0;
};

// The 15 weight types of DESIGN.md section 1 (F32 ... IQ4_XS).
bool is_weight_type(int32_t type);

r1_status buffer_alloc(r1b_device* device, uint64_t size, r1b_buffer_usage usage, r1b_buffer** out);
void buffer_free(r1b_device* device, r1b_buffer* buffer);
r1_status weight_create(r1b_device* device, int32_t type, int64_t rows, int64_t cols, const void* data, uint32_t flags,
                        r1b_weight** out);
void weight_free(r1b_device* device, r1b_weight* weight);
uint64_t weight_size(const r1b_weight* weight);
int32_t weight_uses_source(const r1b_weight* weight);
// Releases every pool block and the upload context (at device close).
void release_device_memory(Device& d);

// ---------------------------------------------------------------------------------------------------------------
// Pipelines (vk_pipelines.cpp)
// ---------------------------------------------------------------------------------------------------------------

constexpr uint32_t kBindings = 6;         // storage buffers 0..5 in every shader's one descriptor set
constexpr uint32_t kPushConstantBytes = 128;

bool create_pipeline_layout(Device& d, std::string& error);
void destroy_pipelines(Device& d);
// The pipeline of embedded shader `name` with specialization constants 0..n-1 = spec; created on first use.
// Returns VK_NULL_HANDLE (with `error`) when the shader does not exist or creation fails.
VkPipeline get_pipeline(Device& d, const std::string& name, const std::vector<uint32_t>& spec, std::string& error);
bool has_shader(const std::string& name);

// ---------------------------------------------------------------------------------------------------------------
// Streams (vk_stream.cpp) and operations (vk_ops.cpp)
// ---------------------------------------------------------------------------------------------------------------

// A descriptor's view of a buffer: offset and range obey the device's storage-buffer limits.
struct Window {
    VkBuffer buffer = VK_NULL_HANDLE;
    uint64_t offset = 0;
    uint64_t range = 0;
};

// A byte range of a buffer that a command reads or writes (for the barriers between commands).
struct Access {
    VkBuffer buffer = VK_NULL_HANDLE;
    uint64_t lo = 0, hi = 0;
    bool write = false;
};

// A view resolved to a window and the view's offset inside it.
struct Region {
    Window window;
    uint64_t at = 0;  // byte offset of the view's first byte in the window
    uint64_t lo = 0, hi = 0;  // the view's bytes in window.buffer
};

struct Staging {
    Allocation allocation;
    uint64_t used = 0;
};

struct SetKey {
    Window windows[kBindings];
    bool operator==(const SetKey& o) const;
};
struct SetKeyHash {
    size_t operator()(const SetKey& k) const;
};

struct Stream {
    Device* device = nullptr;
    bool exact = false;  // from the device handle the stream was created on
    Features features;
    const volatile int32_t* cancel = nullptr;
    r1_status status = R1_OK;  // first error since the last synchronize

    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    bool recording = false;

    std::vector<Staging> uploads;    // host-written sources of uploads, reused after each synchronize
    std::vector<Staging> downloads;  // device-written targets of downloads
    struct PendingDownload {
        const uint8_t* from;
        void* to;
        uint64_t size;
    };
    std::vector<PendingDownload> pending;

    std::vector<VkDescriptorPool> pools;
    uint32_t pool_sets_left = 0;
    std::unordered_map<SetKey, VkDescriptorSet, SetKeyHash> sets;
    uint64_t generation = 0;
    bool stale_pools = false;  // cached sets were dropped; reset the pools before the next recording

    // Accesses since the last barrier, in submission order (they span command buffers: barriers order them too).
    std::vector<Access> reads, writes;
    VkPipeline bound = VK_NULL_HANDLE;

    // Internal device buffers, grown on demand; replaced ones live until the next synchronize.
    Allocation q8;        // activations quantized for mmq.comp
    Allocation partials;  // split attention partial results
    Allocation status_buffer;  // host-visible error flags written by shaders
    std::vector<Allocation> retired;
    // The view whose quantized activations q8 holds (reused by the next matmul of the same input).
    struct {
        bool valid = false;
        VkBuffer buffer = VK_NULL_HANDLE;
        uint64_t lo = 0, hi = 0, offset = 0, stride = 0;
        int64_t rows = 0, cols = 0;
    } q8_source;
};

r1_status stream_create(r1b_device* device, const r1b_stream_params* params, r1b_stream** out);
void stream_destroy(r1b_stream* stream);
r1_status upload(r1b_stream* stream, r1b_buffer* dst, uint64_t offset, const void* src, uint64_t size);
r1_status download(r1b_stream* stream, const r1b_buffer* src, uint64_t offset, void* dst, uint64_t size);
r1_status submit(r1b_stream* stream, const r1b_op* ops, size_t n_ops);
r1_status synchronize(r1b_stream* stream);

// Used by vk_ops.cpp:
// Starts recording if needed. False (status set) on failure.
bool begin_recording(Stream& s);
// The window and offset of bytes [offset, offset + bytes) of buffer b. False (with a message) when the range
// leaves the buffer, crosses a segment or cannot be bound in one descriptor.
bool resolve(Stream& s, const r1b_buffer* b, uint64_t offset, uint64_t bytes, Region& out);
Window whole(const Allocation& a);
// Records a dispatch: barrier if an access conflicts with earlier ones, pipeline, descriptor set, push constants.
bool record_dispatch(Stream& s, VkPipeline pipeline, const Window (&windows)[kBindings], const void* push,
                     uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz, const Access* accesses,
                     size_t n_accesses);
// Grows an internal buffer to at least `bytes` (the old one is retired until synchronize).
bool ensure_internal(Stream& s, Allocation& a, uint64_t bytes);
// Forgets cached quantized activations whose source overlaps a write.
void invalidate_q8(Stream& s, const Access& write);

r1_status record_op(Stream& s, const r1b_op& op);
int32_t supports(r1b_device* device, r1b_op_kind kind, int32_t type);

}  // namespace r1::vulkan
