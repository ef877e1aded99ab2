// Shaders and pipelines. Every shader is compiled to SPIR-V at build time (CMakeLists.txt) and embedded as an
// array of words (vk_shaders.inc, generated). All shaders share one descriptor-set layout (kBindings storage
// buffers) and one push-constant range, so a descriptor set fits any pipeline. A pipeline is created the first
// time a (shader, specialization constants) pair is needed and kept for the life of the device.
#include <cstring>

#include "vk_context.h"

namespace r1::vulkan {
namespace {

struct EmbeddedShader {
    const char* name;
    const uint32_t* code;
    size_t bytes;
};

#include "vk_shaders.inc"  // kEmbeddedShaders[]

const EmbeddedShader* find_shader(const std::string& name) {
    for (const EmbeddedShader& s : kEmbeddedShaders)
        if (name == s.name) return &s;
    return nullptr;
}

}  // namespace

bool has_shader(const std::string& name) { return find_shader(name) != nullptr; }

bool create_pipeline_layout(Device& d, std::string& error) {
    VkDescriptorSetLayoutBinding bindings[kBindings];
    for (uint32_t i = 0; i < kBindings; ++i) {
        bindings[i] = VkDescriptorSetLayoutBinding{};
        bindings[i].binding = i;
        bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        bindings[i].descriptorCount = 1;
        bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo si{};
    si.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    si.bindingCount = kBindings;
    si.pBindings = bindings;
    if (d.vk.vkCreateDescriptorSetLayout(d.device, &si, nullptr, &d.set_layout) != VK_SUCCESS) {
        error = "cannot create the descriptor set layout";
        return false;
    }
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushConstantBytes};
    VkPipelineLayoutCreateInfo li{};
    li.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    li.setLayoutCount = 1;
    li.pSetLayouts = &d.set_layout;
    li.pushConstantRangeCount = 1;
    li.pPushConstantRanges = &range;
    if (d.vk.vkCreatePipelineLayout(d.device, &li, nullptr, &d.pipeline_layout) != VK_SUCCESS) {
        error = "cannot create the pipeline layout";
        return false;
    }
    VkPipelineCacheCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO;
    if (d.vk.vkCreatePipelineCache(d.device, &ci, nullptr, &d.pipeline_cache) != VK_SUCCESS)
        d.pipeline_cache = VK_NULL_HANDLE;  // optional
    return true;
}

void destroy_pipelines(Device& d) {
    std::lock_guard<std::mutex> lock(d.pipelines_mutex);
    for (auto& p : d.pipelines) d.vk.vkDestroyPipeline(d.device, p.second, nullptr);
    for (auto& m : d.modules) d.vk.vkDestroyShaderModule(d.device, m.second, nullptr);
    d.pipelines.clear();
    d.modules.clear();
    if (d.pipeline_cache) d.vk.vkDestroyPipelineCache(d.device, d.pipeline_cache, nullptr);
    if (d.pipeline_layout) d.vk.vkDestroyPipelineLayout(d.device, d.pipeline_layout, nullptr);
    if (d.set_layout) d.vk.vkDestroyDescriptorSetLayout(d.device, d.set_layout, nullptr);
    d.pipeline_cache = VK_NULL_HANDLE;
    d.pipeline_layout = VK_NULL_HANDLE;
    d.set_layout = VK_NULL_HANDLE;
}

VkPipeline get_pipeline(Device& d, const std::string& name, const std::vector<uint32_t>& spec, std::string& error) {
    std::string key = name;
    for (uint32_t v : spec) key += ":" + std::to_string(v);
    std::lock_guard<std::mutex> lock(d.pipelines_mutex);
    auto found = d.pipelines.find(key);
    if (found != d.pipelines.end()) return found->second;

    VkShaderModule module = VK_NULL_HANDLE;
    auto m = d.modules.find(name);
    if (m != d.modules.end()) {
        module = m->second;
    } else {
        const EmbeddedShader* shader = find_shader(name);
        if (!shader) {
            error = "no shader named " + name + " in this build";
            return VK_NULL_HANDLE;
        }
        VkShaderModuleCreateInfo mi{};
        mi.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
        mi.codeSize = shader->bytes;
        mi.pCode = shader->code;
        VkResult r = d.vk.vkCreateShaderModule(d.device, &mi, nullptr, &module);
        if (r != VK_SUCCESS) {
            error = "cannot create shader module " + name + ": " + vk_result_name(r);
            return VK_NULL_HANDLE;
        }
        d.modules[name] = module;
    }

    std::vector<VkSpecializationMapEntry> entries(spec.size());
    for (size_t i = 0; i < spec.size(); ++i) entries[i] = {uint32_t(i), uint32_t(4 * i), 4};
    VkSpecializationInfo si{};
    si.mapEntryCount = uint32_t(entries.size());
    si.pMapEntries = entries.data();
    si.dataSize = spec.size() * 4;
    si.pData = spec.data();
    VkComputePipelineCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
    ci.layout = d.pipeline_layout;
    VkPipeline pipeline = VK_NULL_HANDLE;
    VkResult r = d.vk.vkCreateComputePipelines(d.device, d.pipeline_cache, 1, &ci, nullptr, &pipeline);
    if (r != VK_SUCCESS) {
        error = "cannot create pipeline " + key + ": " + vk_result_name(r);
        return VK_NULL_HANDLE;
    }
    d.pipelines[key] = pipeline;
    return pipeline;
}

}  // namespace r1::vulkan
