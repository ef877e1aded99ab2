// Device memory: allocations, the buffers of the interface, and weights.
//
// Weights are sub-allocated from pool blocks (a few large VkBuffers, each bindable by one descriptor: no larger
// than maxStorageBufferRange) and uploaded once through a host-visible staging buffer. A tensor larger than what a
// block has left is split by rows into chunks, each in one block; operations then run once per chunk.
#include <algorithm>
#include <cstring>
#include <new>

#include "../../src/dtype.h"
#include "vk_context.h"

namespace r1::vulkan {
namespace {

constexpr uint64_t kChunkAlignment = 256;
constexpr uint64_t kFirstBlockBytes = uint64_t(32) << 20;
constexpr uint64_t kMaxBlockBytes = uint64_t(1) << 30;
constexpr uint64_t kStagingBytes = uint64_t(32) << 20;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// A memory type in `bits` with all `required` flags, preferring one that also has `preferred`.
int pick_memory_type(const VkPhysicalDeviceMemoryProperties& mem, uint32_t bits, VkMemoryPropertyFlags required,
                     VkMemoryPropertyFlags preferred) {
    int fallback = -1;
    for (uint32_t i = 0; i < mem.memoryTypeCount; ++i) {
        if (!(bits & (1u << i))) continue;
        const VkMemoryPropertyFlags f = mem.memoryTypes[i].propertyFlags;
        if ((f & required) != required) continue;
        if ((f & preferred) == preferred) return int(i);
        if (fallback < 0) fallback = int(i);
    }
    return fallback;
}

uint64_t block_limit(const Device& d) {
    uint64_t limit = std::min<uint64_t>({d.limits.max_storage_range, d.limits.max_allocation, kMaxBlockBytes});
    return limit / kChunkAlignment * kChunkAlignment;
}

// Copies host bytes into a device buffer through the device's staging buffer; waits for completion.
bool upload_through_staging(Device& d, VkBuffer dst, uint64_t dst_offset, const uint8_t* src, uint64_t bytes,
                            std::string& error) {
    if (!d.upload_staging.buffer && !create_allocation(d, kStagingBytes, MemoryUse::Upload, d.upload_staging, error))
        return false;
    if (!d.upload_pool) {
        VkCommandPoolCreateInfo pi{};
        pi.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
        pi.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
        pi.queueFamilyIndex = d.physical->queue_family;
        if (d.vk.vkCreateCommandPool(d.device, &pi, nullptr, &d.upload_pool) != VK_SUCCESS) {
            error = "cannot create a command pool";
            return false;
        }
        VkCommandBufferAllocateInfo ai{};
        ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
        ai.commandPool = d.upload_pool;
        ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        ai.commandBufferCount = 1;
        VkFenceCreateInfo fi{};
        fi.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
        if (d.vk.vkAllocateCommandBuffers(d.device, &ai, &d.upload_cb) != VK_SUCCESS ||
            d.vk.vkCreateFence(d.device, &fi, nullptr, &d.upload_fence) != VK_SUCCESS) {
            error = "cannot create the upload command buffer";
            return false;
        }
    }
    for (uint64_t done = 0; done < bytes;) {
        const uint64_t n = std::min(bytes - done, d.upload_staging.size);
        std::memcpy(d.upload_staging.mapped, src + done, size_t(n));
        VkCommandBufferBeginInfo bi{};
        bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
        bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        d.vk.vkBeginCommandBuffer(d.upload_cb, &bi);
        // After the work already submitted (sessions of other models may read other weights of this block).
        VkMemoryBarrier before{};
        before.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
        before.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        before.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        d.vk.vkCmdPipelineBarrier(d.upload_cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                  VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, nullptr, 0, nullptr);
        VkBufferCopy region{0, dst_offset + done, n};
        d.vk.vkCmdCopyBuffer(d.upload_cb, d.upload_staging.buffer, dst, 1, &region);
        // Make the copy visible to the compute shaders of later submissions.
        VkMemoryBarrier barrier{};
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
        barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
        d.vk.vkCmdPipelineBarrier(d.upload_cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                  VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &barrier,
                                  0, nullptr, 0, nullptr);
        d.vk.vkEndCommandBuffer(d.upload_cb);
        VkSubmitInfo si{};
        si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
        si.commandBufferCount = 1;
        si.pCommandBuffers = &d.upload_cb;
        VkResult r;
        {
            std::lock_guard<std::mutex> lock(d.queue_mutex);
            r = d.vk.vkQueueSubmit(d.queue, 1, &si, d.upload_fence);
        }
        if (r == VK_SUCCESS) r = d.vk.vkWaitForFences(d.device, 1, &d.upload_fence, VK_TRUE, UINT64_MAX);
        d.vk.vkResetFences(d.device, 1, &d.upload_fence);
        d.vk.vkResetCommandPool(d.device, d.upload_pool, 0);
        if (r != VK_SUCCESS) {
            error = std::string("uploading weights failed: ") + vk_result_name(r);
            return false;
        }
        done += n;
    }
    return true;
}

void free_block(Device& d, PoolBlock* block) {
    destroy_allocation(d, block->allocation);
    d.blocks.erase(std::remove(d.blocks.begin(), d.blocks.end(), block), d.blocks.end());
    delete block;
}

}  // namespace

bool is_weight_type(int32_t type) {
    switch (DType(type)) {
        case DType::F32: case DType::F16: case DType::BF16: case DType::Q4_0: case DType::Q4_1: case DType::Q5_0:
        case DType::Q5_1: case DType::Q8_0: case DType::Q2_K: case DType::Q3_K: case DType::Q4_K: case DType::Q5_K:
        case DType::Q6_K: case DType::IQ4_NL: case DType::IQ4_XS:
            return true;
        default:
            return false;
    }
}

bool create_allocation(Device& d, uint64_t size, MemoryUse use, Allocation& out, std::string& error) {
    out = Allocation{};
    size = align_up(std::max<uint64_t>(size, 16), 16);
    VkBufferCreateInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bi.size = size;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkResult r = d.vk.vkCreateBuffer(d.device, &bi, nullptr, &out.buffer);
    if (r != VK_SUCCESS) {
        error = std::string("vkCreateBuffer of ") + std::to_string(size) + " bytes failed: " + vk_result_name(r);
        out.buffer = VK_NULL_HANDLE;
        return false;
    }
    VkMemoryRequirements req;
    d.vk.vkGetBufferMemoryRequirements(d.device, out.buffer, &req);
    int type = -1;
    switch (use) {
        case MemoryUse::Device:
            type = pick_memory_type(d.memory, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
            if (type < 0) type = pick_memory_type(d.memory, req.memoryTypeBits, 0, 0);
            break;
        case MemoryUse::Upload:
            type = pick_memory_type(d.memory, req.memoryTypeBits,
                                    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0);
            break;
        case MemoryUse::Download:
            type = pick_memory_type(d.memory, req.memoryTypeBits,
                                    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                    VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
            break;
    }
    if (type < 0) {
        d.vk.vkDestroyBuffer(d.device, out.buffer, nullptr);
        out.buffer = VK_NULL_HANDLE;
        error = "no suitable memory type";
        return false;
    }
    VkMemoryAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = uint32_t(type);
    r = d.vk.vkAllocateMemory(d.device, &ai, nullptr, &out.memory);
    if (r != VK_SUCCESS) {
        d.vk.vkDestroyBuffer(d.device, out.buffer, nullptr);
        out = Allocation{};
        error = std::string("allocating ") + std::to_string(size) + " bytes of " +
                (use == MemoryUse::Device ? "device" : "host-visible") + " memory failed: " + vk_result_name(r);
        return false;
    }
    d.live_allocations.fetch_add(1);
    d.vk.vkBindBufferMemory(d.device, out.buffer, out.memory, 0);
    if (use != MemoryUse::Device) {
        void* p = nullptr;
        r = d.vk.vkMapMemory(d.device, out.memory, 0, VK_WHOLE_SIZE, 0, &p);
        if (r != VK_SUCCESS) {
            destroy_allocation(d, out);
            error = std::string("vkMapMemory failed: ") + vk_result_name(r);
            return false;
        }
        out.mapped = static_cast<uint8_t*>(p);
    }
    out.size = size;
    return true;
}

void destroy_allocation(Device& d, Allocation& a) {
    if (a.buffer) {
        d.vk.vkDestroyBuffer(d.device, a.buffer, nullptr);
        d.buffer_generation.fetch_add(1);
    }
    if (a.memory) {
        d.vk.vkFreeMemory(d.device, a.memory, nullptr);  // unmaps too
        d.live_allocations.fetch_sub(1);
    }
    a = Allocation{};
}

// ---------------------------------------------------------------------------------------------------------------
// Buffers
// ---------------------------------------------------------------------------------------------------------------

r1_status buffer_alloc(r1b_device* device, uint64_t size, r1b_buffer_usage, r1b_buffer** out) {
    Device& d = device_of(device);
    auto* b = new (std::nothrow) Buffer;
    if (!b) return R1_ERR_OUT_OF_MEMORY;
    b->device = &d;
    b->size = size;
    // Shaders read whole 32-bit words: round up so that the last word is inside the allocation.
    const uint64_t total = align_up(std::max<uint64_t>(size, 16), 16);
    // One allocation when it fits; else equal segments (a view must lie inside one). Segments that divide the
    // size evenly keep regular layouts (e.g. per-layer KV blocks) from straddling a boundary where possible.
    const uint64_t max_segment = d.limits.max_allocation / kChunkAlignment * kChunkAlignment;
    uint64_t segment = total;
    if (total > max_segment) {
        segment = 0;
        for (uint64_t n = (total + max_segment - 1) / max_segment; n <= 4096 && !segment; ++n)
            if (total % n == 0 && (total / n) % kChunkAlignment == 0) segment = total / n;
        if (!segment) segment = max_segment;
    }
    std::string error;
    for (uint64_t begin = 0; begin < total; begin += segment) {
        Segment s;
        s.begin = begin;
        if (!create_allocation(d, std::min(segment, total - begin), MemoryUse::Device, s.allocation, error)) {
            for (Segment& old : b->segments) destroy_allocation(d, old.allocation);
            delete b;
            report(d.backend, "cannot allocate a %llu-byte Vulkan buffer: %s", (unsigned long long)size, error.c_str());
            return R1_ERR_OUT_OF_MEMORY;
        }
        b->segments.push_back(s);
    }
    *out = reinterpret_cast<r1b_buffer*>(b);
    return R1_OK;
}

void buffer_free(r1b_device*, r1b_buffer* buffer) {
    auto* b = reinterpret_cast<Buffer*>(buffer);
    if (!b) return;
    for (Segment& s : b->segments) destroy_allocation(*b->device, s.allocation);
    delete b;
}

// ---------------------------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------------------------

r1_status weight_create(r1b_device* device, int32_t type, int64_t rows, int64_t cols, const void* data, uint32_t,
                        r1b_weight** out) {
    Device& d = device_of(device);
    const DTypeTraits* traits = type >= 0 ? dtype_traits(uint32_t(type)) : nullptr;
    if (!traits || !is_weight_type(type) || rows < 1 || cols < 1 || uint64_t(cols) % traits->block_elements) {
        report(d.backend, "weights of type %s and shape %lldx%lld are not supported by the Vulkan backend",
               dtype_name(uint32_t(type)), (long long)rows, (long long)cols);
        return R1_ERR_UNSUPPORTED;
    }
    const uint64_t row_bytes = dtype_row_bytes(DType(type), uint64_t(cols));
    const uint64_t limit = block_limit(d);
    if (row_bytes > limit || row_bytes > UINT32_MAX) {
        report(d.backend, "a weight row of %llu bytes exceeds what one Vulkan descriptor can bind (%llu)",
               (unsigned long long)row_bytes, (unsigned long long)limit);
        return R1_ERR_UNSUPPORTED;
    }
    auto* w = new (std::nothrow) Weight;
    if (!w) return R1_ERR_OUT_OF_MEMORY;
    w->device = &d;
    w->type = type;
    w->rows = rows;
    w->cols = cols;
    w->row_bytes = row_bytes;
    const auto* src = static_cast<const uint8_t*>(data);
    std::string error;
    std::lock_guard<std::mutex> lock(d.memory_mutex);
    try {
        for (int64_t row = 0; row < rows;) {
            PoolBlock* block = d.blocks.empty() ? nullptr : d.blocks.back();
            uint64_t at = block ? align_up(block->used, kChunkAlignment) : 0;
            if (!block || at >= block->allocation.size || block->allocation.size - at < row_bytes) {
                if (!d.next_block_size) d.next_block_size = std::min(kFirstBlockBytes, limit);
                const uint64_t remaining = align_up(uint64_t(rows - row) * row_bytes, kChunkAlignment);
                const uint64_t size = std::min(limit, std::max(d.next_block_size, remaining));
                d.next_block_size = std::min(limit, d.next_block_size * 2);
                block = new PoolBlock;
                if (!create_allocation(d, size, MemoryUse::Device, block->allocation, error)) {
                    delete block;
                    throw std::bad_alloc();
                }
                d.blocks.push_back(block);
                at = 0;
            }
            const int64_t n = std::min<int64_t>(rows - row, int64_t((block->allocation.size - at) / row_bytes));
            WeightChunk c;
            c.block = block;
            c.offset = at;
            c.bytes = uint64_t(n) * row_bytes;
            c.row0 = row;
            c.rows = n;
            block->used = at + c.bytes;
            block->live++;
            w->chunks.push_back(c);
            w->bytes += c.bytes;
            if (!upload_through_staging(d, block->allocation.buffer, at, src + uint64_t(row) * row_bytes, c.bytes, error))
                throw std::bad_alloc();
            row += n;
        }
    } catch (const std::bad_alloc&) {
        for (WeightChunk& c : w->chunks)
            if (--c.block->live == 0) free_block(d, c.block);
        delete w;
        report(d.backend, "cannot place a %s weight of %lldx%lld on the Vulkan device: %s", dtype_name(uint32_t(type)),
               (long long)rows, (long long)cols, error.empty() ? "out of host memory" : error.c_str());
        return R1_ERR_OUT_OF_MEMORY;
    }
    *out = reinterpret_cast<r1b_weight*>(w);
    return R1_OK;
}

void weight_free(r1b_device*, r1b_weight* weight) {
    auto* w = reinterpret_cast<Weight*>(weight);
    if (!w) return;
    Device& d = *w->device;
    std::lock_guard<std::mutex> lock(d.memory_mutex);
    for (WeightChunk& c : w->chunks)
        if (--c.block->live == 0) free_block(d, c.block);
    delete w;
}

uint64_t weight_size(const r1b_weight* weight) { return reinterpret_cast<const Weight*>(weight)->bytes; }

// Weights are uploaded to device memory at creation; the host bytes are never read again.
int32_t weight_uses_source(const r1b_weight*) { return 0; }

void release_device_memory(Device& d) {
    std::lock_guard<std::mutex> lock(d.memory_mutex);
    for (PoolBlock* b : d.blocks) {
        destroy_allocation(d, b->allocation);
        delete b;
    }
    d.blocks.clear();
    destroy_allocation(d, d.upload_staging);
    if (d.upload_fence) d.vk.vkDestroyFence(d.device, d.upload_fence, nullptr);
    if (d.upload_pool) d.vk.vkDestroyCommandPool(d.device, d.upload_pool, nullptr);
    d.upload_fence = VK_NULL_HANDLE;
    d.upload_pool = VK_NULL_HANDLE;
    d.upload_cb = VK_NULL_HANDLE;
}

}  // namespace r1::vulkan
