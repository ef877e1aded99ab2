// The Vulkan backend's interface table.
#include "vk_context.h"
#include "vulkan_backend.h"

namespace r1::vulkan {
namespace {

// Device memory is not host-visible through the interface: transfers go through upload() and download().
void* buffer_host_ptr(r1b_buffer*) { return nullptr; }

const r1b_backend_iface kIface = {
    R1_BACKEND_API_VERSION,
    sizeof(r1b_backend_iface),
    "vulkan",
    backend_init,
    backend_shutdown,
    device_count,
    device_info,
    device_open,
    device_close,
    buffer_alloc,
    buffer_free,
    buffer_host_ptr,
    weight_create,
    weight_free,
    weight_size,
    supports,
    stream_create,
    stream_destroy,
    upload,
    download,
    submit,
    synchronize,
    weight_uses_source,
};

}  // namespace

const r1b_backend_iface* vulkan_backend_iface() { return &kIface; }

}  // namespace r1::vulkan
