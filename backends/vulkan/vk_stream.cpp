// Streams. Everything a stream is asked to do between two synchronize() calls (uploads, the operations of
// submit(), downloads) is recorded into one command buffer, submitted once by synchronize(), which then waits on
// one fence and copies the downloads out. So a forward pass costs one vkQueueSubmit and no host round trip
// between layers.
//
// Barriers: the stream remembers the byte ranges read and written since the last barrier; a command that reads
// what was written, or writes what was read or written, gets one global memory barrier first. Independent
// commands (the q, k and v projections of a layer) thus run without barriers between them.
//
// Descriptor sets: every shader uses the same layout; a set is identified by its kBindings windows (each view's
// exact byte range) and cached, so repeated forward passes allocate sets only for the views that move (the KV
// cache rows of the new tokens).
#include <cstring>
#include <new>

#include "vk_context.h"

namespace r1::vulkan {
namespace {

constexpr uint64_t kStagingChunk = uint64_t(4) << 20;
constexpr uint32_t kSetsPerPool = 256;
constexpr size_t kMaxCachedSets = 8192;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

bool overlaps(const Access& a, const Access& b) { return a.buffer == b.buffer && a.lo < b.hi && b.lo < a.hi; }

void full_barrier(Stream& s) {
    VkMemoryBarrier barrier{};
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                            VK_ACCESS_TRANSFER_WRITE_BIT;
    const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    s.device->vk.vkCmdPipelineBarrier(s.cb, stages, stages, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

// Emits a barrier when one of `accesses` conflicts with the accesses since the last barrier, then records them.
void track(Stream& s, const Access* accesses, size_t n) {
    bool conflict = false;
    for (size_t i = 0; i < n && !conflict; ++i) {
        const Access& a = accesses[i];
        for (const Access& w : s.writes)
            if (overlaps(a, w)) conflict = true;
        if (a.write)
            for (const Access& r : s.reads)
                if (overlaps(a, r)) conflict = true;
    }
    if (conflict) {
        full_barrier(s);
        s.reads.clear();
        s.writes.clear();
    }
    for (size_t i = 0; i < n; ++i) {
        if (accesses[i].write) {
            s.writes.push_back(accesses[i]);
            invalidate_q8(s, accesses[i]);
        } else {
            s.reads.push_back(accesses[i]);
        }
    }
}

void reset_descriptor_pools(Stream& s) {
    for (VkDescriptorPool p : s.pools) s.device->vk.vkDestroyDescriptorPool(s.device->device, p, nullptr);
    s.pools.clear();
    s.pool_sets_left = 0;
    s.sets.clear();
}

VkDescriptorSet descriptor_set(Stream& s, const Window (&windows)[kBindings]) {
    Device& d = *s.device;
    const uint64_t generation = d.buffer_generation.load();
    if (generation != s.generation) {
        s.sets.clear();  // a buffer they may name was destroyed; their pools are reset at the next recording
        s.generation = generation;
        s.stale_pools = true;
    }
    SetKey key;
    for (uint32_t i = 0; i < kBindings; ++i) key.windows[i] = windows[i];
    auto found = s.sets.find(key);
    if (found != s.sets.end()) return found->second;
    if (s.pool_sets_left == 0) {
        VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kBindings};
        VkDescriptorPoolCreateInfo pi{};
        pi.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
        pi.maxSets = kSetsPerPool;
        pi.poolSizeCount = 1;
        pi.pPoolSizes = &size;
        VkDescriptorPool pool;
        if (d.vk.vkCreateDescriptorPool(d.device, &pi, nullptr, &pool) != VK_SUCCESS) return VK_NULL_HANDLE;
        s.pools.push_back(pool);
        s.pool_sets_left = kSetsPerPool;
    }
    VkDescriptorSetAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
    ai.descriptorPool = s.pools.back();
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &d.set_layout;
    VkDescriptorSet set;
    if (d.vk.vkAllocateDescriptorSets(d.device, &ai, &set) != VK_SUCCESS) return VK_NULL_HANDLE;
    s.pool_sets_left--;
    VkDescriptorBufferInfo infos[kBindings];
    VkWriteDescriptorSet writes[kBindings];
    for (uint32_t i = 0; i < kBindings; ++i) {
        infos[i] = {windows[i].buffer, windows[i].offset, windows[i].range};
        writes[i] = VkWriteDescriptorSet{};
        writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
        writes[i].dstSet = set;
        writes[i].dstBinding = i;
        writes[i].descriptorCount = 1;
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &infos[i];
    }
    d.vk.vkUpdateDescriptorSets(d.device, kBindings, writes, 0, nullptr);
    s.sets[key] = set;
    return set;
}

// `bytes` of host-visible staging memory from `ring` (16-byte aligned).
bool staging_space(Stream& s, std::vector<Staging>& ring, MemoryUse use, uint64_t bytes, Staging*& out,
                   uint64_t& offset) {
    for (Staging& st : ring) {
        const uint64_t at = align_up(st.used, 16);
        if (at + bytes <= st.allocation.size) {
            out = &st;
            offset = at;
            st.used = at + bytes;
            return true;
        }
    }
    Staging st;
    std::string error;
    if (!create_allocation(*s.device, std::max(kStagingChunk, bytes), use, st.allocation, error)) {
        report(s.device->backend, "cannot allocate %llu bytes of staging memory: %s", (unsigned long long)bytes,
               error.c_str());
        return false;
    }
    st.used = bytes;
    ring.push_back(st);
    out = &ring.back();
    offset = 0;
    return true;
}

// The segment of buffer b holding byte `offset`, or nullptr.
const Segment* segment_at(const Buffer& b, uint64_t offset) {
    for (const Segment& seg : b.segments)
        if (offset >= seg.begin && offset < seg.begin + seg.allocation.size) return &seg;
    return nullptr;
}

// Ends the current recording without submitting it (an error or a cancellation stopped it).
void discard_recording(Stream& s) {
    Device& d = *s.device;
    d.vk.vkEndCommandBuffer(s.cb);
    d.vk.vkResetCommandPool(d.device, s.pool, 0);
    s.recording = false;
    s.pending.clear();
    for (Staging& st : s.uploads) st.used = 0;
    for (Staging& st : s.downloads) st.used = 0;
    s.q8_source.valid = false;
}

}  // namespace

bool SetKey::operator==(const SetKey& o) const {
    for (uint32_t i = 0; i < kBindings; ++i)
        if (windows[i].buffer != o.windows[i].buffer || windows[i].offset != o.windows[i].offset ||
            windows[i].range != o.windows[i].range)
            return false;
    return true;
}

size_t SetKeyHash::operator()(const SetKey& k) const {
    uint64_t h = 1469598103934665603ull;
    for (const Window& w : k.windows)
        for (uint64_t v : {uint64_t(reinterpret_cast<uintptr_t>(w.buffer)), w.offset, w.range}) {
            h ^= v;
            h *= 1099511628211ull;
        }
    return size_t(h);
}

Window whole(const Allocation& a) { return Window{a.buffer, 0, a.size}; }

bool begin_recording(Stream& s) {
    if (s.recording) return true;
    Device& d = *s.device;
    if (s.status != R1_OK) return false;
    if (s.stale_pools || s.generation != d.buffer_generation.load() || s.sets.size() > kMaxCachedSets) {
        reset_descriptor_pools(s);  // nothing is in flight: synchronize() waited
        s.generation = d.buffer_generation.load();
        s.stale_pools = false;
    }
    std::memset(s.status_buffer.mapped, 0, 16);
    VkCommandBufferBeginInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    if (d.vk.vkBeginCommandBuffer(s.cb, &bi) != VK_SUCCESS) {
        report(d.backend, "vkBeginCommandBuffer failed");
        s.status = R1_ERR_BACKEND;
        return false;
    }
    s.recording = true;
    s.bound = VK_NULL_HANDLE;
    return true;
}

bool resolve(Stream& s, const r1b_buffer* buffer, uint64_t offset, uint64_t bytes, Region& out) {
    const Device& d = *s.device;
    const Buffer* b = reinterpret_cast<const Buffer*>(buffer);
    if (!b || offset > b->size || bytes > b->size - offset) {
        report(d.backend, "a view of %llu bytes at offset %llu leaves its %llu-byte buffer", (unsigned long long)bytes,
               (unsigned long long)offset, (unsigned long long)(b ? b->size : 0));
        return false;
    }
    const Segment* seg = segment_at(*b, offset);
    const uint64_t local = seg ? offset - seg->begin : 0;
    // Shaders read whole words: the window must hold the view's last word.
    const uint64_t end = align_up(local + std::max<uint64_t>(bytes, 1), 4);
    if (!seg || end > seg->allocation.size) {
        report(d.backend, "a view of %llu bytes at offset %llu crosses a device allocation boundary of its buffer",
               (unsigned long long)bytes, (unsigned long long)offset);
        return false;
    }
    // The descriptor covers the view only (from the aligned offset below it to its last word): the barrier
    // tracking below and the validation layer's synchronization checks then see the same, precise ranges.
    const uint64_t base = local / d.limits.storage_alignment * d.limits.storage_alignment;
    if (end - base > d.limits.max_storage_range) {
        report(d.backend, "a view of %llu bytes exceeds the device's maxStorageBufferRange (%llu)",
               (unsigned long long)bytes, (unsigned long long)d.limits.max_storage_range);
        return false;
    }
    out.window.buffer = seg->allocation.buffer;
    out.window.offset = base;
    out.window.range = end - base;
    out.at = local - base;
    out.lo = base;
    out.hi = end;
    return true;
}

bool record_dispatch(Stream& s, VkPipeline pipeline, const Window (&windows)[kBindings], const void* push,
                     uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz, const Access* accesses,
                     size_t n_accesses) {
    if (!begin_recording(s)) return false;
    Device& d = *s.device;
    if (gx == 0 || gy == 0 || gz == 0) return true;
    Window filled[kBindings];
    for (uint32_t i = 0; i < kBindings; ++i) filled[i] = windows[i].buffer ? windows[i] : whole(d.dummy);
    const VkDescriptorSet set = descriptor_set(s, filled);
    if (!set) {
        report(d.backend, "cannot allocate a descriptor set");
        s.status = R1_ERR_BACKEND;
        return false;
    }
    track(s, accesses, n_accesses);
    if (s.bound != pipeline) {
        d.vk.vkCmdBindPipeline(s.cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
        s.bound = pipeline;
    }
    d.vk.vkCmdBindDescriptorSets(s.cb, VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline_layout, 0, 1, &set, 0, nullptr);
    uint8_t constants[kPushConstantBytes] = {};
    std::memcpy(constants, push, std::min<uint32_t>(push_bytes, kPushConstantBytes));
    d.vk.vkCmdPushConstants(s.cb, d.pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushConstantBytes, constants);
    d.vk.vkCmdDispatch(s.cb, gx, gy, gz);
    return true;
}

bool ensure_internal(Stream& s, Allocation& a, uint64_t bytes) {
    if (a.buffer && a.size >= bytes) return true;
    if (a.buffer) s.retired.push_back(a);  // recorded commands may still use it
    a = Allocation{};
    std::string error;
    if (!create_allocation(*s.device, std::max(bytes, uint64_t(1) << 20), MemoryUse::Device, a, error)) {
        report(s.device->backend, "cannot allocate %llu bytes of device memory: %s", (unsigned long long)bytes,
               error.c_str());
        s.status = R1_ERR_OUT_OF_MEMORY;
        return false;
    }
    return true;
}

void invalidate_q8(Stream& s, const Access& write) {
    if (!s.q8_source.valid) return;
    Access src{s.q8_source.buffer, s.q8_source.lo, s.q8_source.hi, false};
    if (overlaps(src, write)) s.q8_source.valid = false;
}

// ---------------------------------------------------------------------------------------------------------------
// The interface entries
// ---------------------------------------------------------------------------------------------------------------

r1_status stream_create(r1b_device* device, const r1b_stream_params* params, r1b_stream** out) {
    const DeviceHandle& h = *reinterpret_cast<DeviceHandle*>(device);
    Device& d = *h.device;
    auto* s = new (std::nothrow) Stream;
    if (!s) return R1_ERR_OUT_OF_MEMORY;
    s->device = &d;
    s->exact = h.exact;
    s->features = h.features;
    s->cancel = params ? params->cancel_flag : nullptr;
    s->generation = d.buffer_generation.load();
    VkCommandPoolCreateInfo pi{};
    pi.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    pi.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
    pi.queueFamilyIndex = d.physical->queue_family;
    VkCommandBufferAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkFenceCreateInfo fi{};
    fi.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    std::string error;
    bool ok = d.vk.vkCreateCommandPool(d.device, &pi, nullptr, &s->pool) == VK_SUCCESS;
    if (ok) {
        ai.commandPool = s->pool;
        ok = d.vk.vkAllocateCommandBuffers(d.device, &ai, &s->cb) == VK_SUCCESS &&
             d.vk.vkCreateFence(d.device, &fi, nullptr, &s->fence) == VK_SUCCESS;
    }
    if (ok) ok = create_allocation(d, 16, MemoryUse::Download, s->status_buffer, error);
    if (!ok) {
        report(d.backend, "cannot create a Vulkan stream%s%s", error.empty() ? "" : ": ", error.c_str());
        stream_destroy(reinterpret_cast<r1b_stream*>(s));
        return R1_ERR_BACKEND;
    }
    *out = reinterpret_cast<r1b_stream*>(s);
    return R1_OK;
}

void stream_destroy(r1b_stream* stream) {
    auto* s = reinterpret_cast<Stream*>(stream);
    if (!s) return;
    Device& d = *s->device;
    if (s->recording) discard_recording(*s);
    reset_descriptor_pools(*s);
    for (Staging& st : s->uploads) destroy_allocation(d, st.allocation);
    for (Staging& st : s->downloads) destroy_allocation(d, st.allocation);
    for (Allocation& a : s->retired) destroy_allocation(d, a);
    destroy_allocation(d, s->q8);
    destroy_allocation(d, s->partials);
    destroy_allocation(d, s->status_buffer);
    if (s->fence) d.vk.vkDestroyFence(d.device, s->fence, nullptr);
    if (s->pool) d.vk.vkDestroyCommandPool(d.device, s->pool, nullptr);
    delete s;
}

r1_status upload(r1b_stream* stream, r1b_buffer* dst, uint64_t offset, const void* src, uint64_t size) {
    Stream& s = *reinterpret_cast<Stream*>(stream);
    const Buffer* b = reinterpret_cast<const Buffer*>(dst);
    if (s.status != R1_OK) return s.status;
    if (!b || offset > b->size || size > b->size - offset) {
        report(s.device->backend, "upload of %llu bytes at offset %llu leaves the buffer", (unsigned long long)size,
               (unsigned long long)offset);
        return R1_ERR_INVALID_ARGUMENT;
    }
    if (size == 0) return R1_OK;
    if (!begin_recording(s)) return s.status;
    Staging* st;
    uint64_t at;
    if (!staging_space(s, s.uploads, MemoryUse::Upload, size, st, at)) return s.status = R1_ERR_OUT_OF_MEMORY;
    std::memcpy(st->allocation.mapped + at, src, size_t(size));
    // A range may span segments: one copy per segment.
    for (uint64_t done = 0; done < size;) {
        const Segment* seg = segment_at(*b, offset + done);
        const uint64_t local = offset + done - seg->begin;
        const uint64_t n = std::min(size - done, seg->allocation.size - local);
        Access a{seg->allocation.buffer, local, local + n, true};
        track(s, &a, 1);
        VkBufferCopy region{at + done, local, n};
        s.device->vk.vkCmdCopyBuffer(s.cb, st->allocation.buffer, seg->allocation.buffer, 1, &region);
        done += n;
    }
    return R1_OK;
}

r1_status download(r1b_stream* stream, const r1b_buffer* src, uint64_t offset, void* dst, uint64_t size) {
    Stream& s = *reinterpret_cast<Stream*>(stream);
    const Buffer* b = reinterpret_cast<const Buffer*>(src);
    if (s.status != R1_OK) return s.status;
    if (!b || offset > b->size || size > b->size - offset) {
        report(s.device->backend, "download of %llu bytes at offset %llu leaves the buffer", (unsigned long long)size,
               (unsigned long long)offset);
        return R1_ERR_INVALID_ARGUMENT;
    }
    if (size == 0) return R1_OK;
    if (!begin_recording(s)) return s.status;
    Staging* st;
    uint64_t at;
    if (!staging_space(s, s.downloads, MemoryUse::Download, size, st, at)) return s.status = R1_ERR_OUT_OF_MEMORY;
    for (uint64_t done = 0; done < size;) {
        const Segment* seg = segment_at(*b, offset + done);
        const uint64_t local = offset + done - seg->begin;
        const uint64_t n = std::min(size - done, seg->allocation.size - local);
        Access a{seg->allocation.buffer, local, local + n, false};
        track(s, &a, 1);
        VkBufferCopy region{local, at + done, n};
        s.device->vk.vkCmdCopyBuffer(s.cb, seg->allocation.buffer, st->allocation.buffer, 1, &region);
        done += n;
    }
    s.pending.push_back({st->allocation.mapped + at, dst, size});
    return R1_OK;
}

r1_status submit(r1b_stream* stream, const r1b_op* ops, size_t n_ops) {
    Stream& s = *reinterpret_cast<Stream*>(stream);
    if (s.status != R1_OK) return s.status;
    for (size_t i = 0; i < n_ops; ++i) {
        if (s.cancel && *s.cancel) {
            report(s.device->backend, "cancelled");
            s.status = R1_ERR_CANCELLED;
            break;
        }
        const r1_status st = record_op(s, ops[i]);
        if (st != R1_OK) {
            if (s.status == R1_OK) s.status = st;
            break;
        }
    }
    return s.status;
}

r1_status synchronize(r1b_stream* stream) {
    Stream& s = *reinterpret_cast<Stream*>(stream);
    Device& d = *s.device;
    if (s.recording && s.status == R1_OK && s.cancel && *s.cancel) {
        report(d.backend, "cancelled");
        s.status = R1_ERR_CANCELLED;
    }
    if (s.recording && s.status != R1_OK) discard_recording(s);
    if (s.recording) {
        // Device writes become visible to the host reads that follow the fence.
        VkMemoryBarrier barrier{};
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
        barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        d.vk.vkCmdPipelineBarrier(s.cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                  VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr, 0, nullptr);
        VkResult r = d.vk.vkEndCommandBuffer(s.cb);
        if (r == VK_SUCCESS) {
            VkSubmitInfo si{};
            si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
            si.commandBufferCount = 1;
            si.pCommandBuffers = &s.cb;
            std::lock_guard<std::mutex> lock(d.queue_mutex);
            r = d.vk.vkQueueSubmit(d.queue, 1, &si, s.fence);
        }
        if (r == VK_SUCCESS) r = d.vk.vkWaitForFences(d.device, 1, &s.fence, VK_TRUE, UINT64_MAX);
        d.vk.vkResetFences(d.device, 1, &s.fence);
        if (r != VK_SUCCESS) {
            report(d.backend, "Vulkan submission failed: %s", vk_result_name(r));
            s.status = r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY ? R1_ERR_OUT_OF_MEMORY
                                                                                            : R1_ERR_BACKEND;
            s.q8_source.valid = false;
        } else {
            for (const Stream::PendingDownload& p : s.pending) std::memcpy(p.to, p.from, size_t(p.size));
            uint32_t flags;
            std::memcpy(&flags, s.status_buffer.mapped, sizeof flags);
            if (flags & 1u) {
                report(d.backend, "embed: a token id is outside the vocabulary");
                s.status = R1_ERR_INVALID_ARGUMENT;
            }
        }
        d.vk.vkResetCommandPool(d.device, s.pool, 0);
        s.recording = false;
        s.pending.clear();
        for (Staging& st : s.uploads) st.used = 0;
        for (Staging& st : s.downloads) st.used = 0;
    }
    for (Allocation& a : s.retired) destroy_allocation(d, a);
    s.retired.clear();
    const r1_status st = s.status;
    s.status = R1_OK;  // the error was delivered; the stream is usable again
    return st;
}

}  // namespace r1::vulkan
