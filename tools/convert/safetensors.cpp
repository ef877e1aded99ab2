#include "safetensors.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "../../backends/cpu/quants/fp16.h"
#include "../../src/error.h"
#include "../../src/util/file_io.h"

namespace r1::convert {

using nlohmann::json;

const char* source_type_name(SourceType t) {
    switch (t) {
        case SourceType::F32: return "F32";
        case SourceType::F16: return "F16";
        case SourceType::BF16: return "BF16";
    }
    return "?";
}

static uint64_t element_bytes(SourceType t) { return t == SourceType::F32 ? 4 : 2; }

int64_t SourceTensor::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

void SourceTensor::to_float(int64_t first, int64_t n, float* out) const {
    const uint8_t* p = data + uint64_t(first) * element_bytes(type);
    switch (type) {
        case SourceType::F32: std::memcpy(out, p, size_t(n) * 4); break;
        case SourceType::F16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                out[i] = cpu::fp16_to_fp32(h);
            }
            break;
        case SourceType::BF16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                out[i] = cpu::bf16_to_fp32(h);
            }
            break;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// One file
// ---------------------------------------------------------------------------------------------------------------

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->path_ = path;
    InputFile in(path);
    if (in.size() < 8) fail(R1_ERR_FORMAT, "%s: %llu bytes is too short for a safetensors file", path.c_str(),
                            (unsigned long long)in.size());
    uint64_t header_size = 0;
    in.read_at(0, &header_size, 8);
    if (header_size > in.size() - 8)
        fail(R1_ERR_FORMAT, "%s: header length %llu exceeds the %llu bytes after it", path.c_str(),
             (unsigned long long)header_size, (unsigned long long)(in.size() - 8));
    if (header_size > (uint64_t(100) << 20))
        fail(R1_ERR_FORMAT, "%s: header length %llu is over the 100 MB limit", path.c_str(),
             (unsigned long long)header_size);
    std::string text(size_t(header_size), '\0');
    if (header_size) in.read_at(8, text.data(), text.size());
    json header;
    try {
        header = json::parse(text);
    } catch (const json::exception& e) {
        fail(R1_ERR_FORMAT, "%s: the header is not valid JSON: %s", path.c_str(), e.what());
    }
    if (!header.is_object()) fail(R1_ERR_FORMAT, "%s: the header is not a JSON object", path.c_str());

    f->mapping_size_ = in.size();
    f->mapping_ = in.map_readonly();
    const uint8_t* base = static_cast<const uint8_t*>(f->mapping_) + 8 + header_size;
    const uint64_t data_size = in.size() - 8 - header_size;

    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") continue;
        const json& t = it.value();
        const char* name = it.key().c_str();
        if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets"))
            fail(R1_ERR_FORMAT, "%s: tensor '%s' lacks dtype, shape or data_offsets", path.c_str(), name);
        SourceTensor st;
        st.name = it.key();
        st.file = path;
        const json& dtype = t["dtype"];
        if (!dtype.is_string()) fail(R1_ERR_FORMAT, "%s: tensor '%s' has a dtype that is not a string", path.c_str(), name);
        const std::string d = dtype.get<std::string>();
        if (d == "F32") st.type = SourceType::F32;
        else if (d == "F16") st.type = SourceType::F16;
        else if (d == "BF16") st.type = SourceType::BF16;
        else fail(R1_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s (supported: F32, F16, BF16)", path.c_str(), name,
                  d.c_str());
        const json& shape = t["shape"];
        if (!shape.is_array() || shape.size() > 4)
            fail(R1_ERR_FORMAT, "%s: tensor '%s' has a bad shape (an array of at most 4 sizes)", path.c_str(), name);
        uint64_t n = 1;
        for (const json& s : shape) {
            if (!s.is_number_unsigned() || s.get<uint64_t>() > (uint64_t(1) << 40))
                fail(R1_ERR_FORMAT, "%s: tensor '%s' has a bad dimension", path.c_str(), name);
            st.shape.push_back(int64_t(s.get<uint64_t>()));
            n *= s.get<uint64_t>();
            if (n > (uint64_t(1) << 40)) fail(R1_ERR_FORMAT, "%s: tensor '%s' is too large", path.c_str(), name);
        }
        const json& off = t["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            fail(R1_ERR_FORMAT, "%s: tensor '%s' has bad data_offsets", path.c_str(), name);
        const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
        if (begin > end || end > data_size)
            fail(R1_ERR_FORMAT, "%s: tensor '%s' data [%llu, %llu) is outside the %llu bytes of data", path.c_str(),
                 name, (unsigned long long)begin, (unsigned long long)end, (unsigned long long)data_size);
        if (end - begin != n * element_bytes(st.type))
            fail(R1_ERR_FORMAT, "%s: tensor '%s' has %llu bytes for %llu %s values", path.c_str(), name,
                 (unsigned long long)(end - begin), (unsigned long long)n, d.c_str());
        st.data = base + begin;
        st.size = end - begin;
        f->tensors_.push_back(std::move(st));
    }
    std::sort(f->tensors_.begin(), f->tensors_.end(),
              [](const SourceTensor& a, const SourceTensor& b) { return a.name < b.name; });
    return f;
}

SafetensorsFile::~SafetensorsFile() {
    if (mapping_) InputFile::unmap(mapping_, mapping_size_);
}

// ---------------------------------------------------------------------------------------------------------------
// A folder
// ---------------------------------------------------------------------------------------------------------------

static bool file_exists(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return bool(f);
}

SafetensorsModel SafetensorsModel::open(const std::string& folder) {
    SafetensorsModel m;
    std::vector<std::string> names;
    std::set<std::string> indexed_tensors;
    const std::string index_path = folder + "/model.safetensors.index.json";
    if (file_exists(index_path)) {
        std::ifstream in(index_path, std::ios::binary);
        json index;
        try {
            index = json::parse(in);
        } catch (const json::exception& e) {
            fail(R1_ERR_FORMAT, "%s: not valid JSON: %s", index_path.c_str(), e.what());
        }
        if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
            fail(R1_ERR_FORMAT, "%s: no \"weight_map\" object", index_path.c_str());
        std::set<std::string> files;
        for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
            if (!it.value().is_string()) fail(R1_ERR_FORMAT, "%s: weight_map['%s'] is not a file name",
                                              index_path.c_str(), it.key().c_str());
            const std::string file = it.value().get<std::string>();
            if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
                fail(R1_ERR_FORMAT, "%s: weight_map names the file '%s'", index_path.c_str(), file.c_str());
            files.insert(file);
            indexed_tensors.insert(it.key());
        }
        names.assign(files.begin(), files.end());
    } else {
        DIR* dir = opendir(folder.c_str());
        if (!dir) fail(R1_ERR_IO, "%s: cannot open the folder: %s", folder.c_str(), std::strerror(errno));
        while (dirent* e = readdir(dir)) {
            const std::string n = e->d_name;
            const std::string ext = ".safetensors";
            if (n.size() > ext.size() && n.compare(0, 5, "model") == 0 &&
                n.compare(n.size() - ext.size(), ext.size(), ext) == 0)
                names.push_back(n);
        }
        closedir(dir);
        std::sort(names.begin(), names.end());
    }
    if (names.empty()) fail(R1_ERR_NOT_FOUND, "%s: no model*.safetensors file", folder.c_str());

    std::set<std::string> seen;
    for (const std::string& n : names) {
        m.files_.push_back(SafetensorsFile::open(folder + "/" + n));
        for (const SourceTensor& t : m.files_.back()->tensors()) {
            if (!seen.insert(t.name).second)
                fail(R1_ERR_FORMAT, "%s: tensor '%s' is in more than one file", folder.c_str(), t.name.c_str());
        }
    }
    for (const std::string& t : indexed_tensors)
        if (!seen.count(t))
            fail(R1_ERR_FORMAT, "%s: the index names tensor '%s', which no file holds", folder.c_str(), t.c_str());
    return m;
}

std::vector<const SourceTensor*> SafetensorsModel::tensors() const {
    std::vector<const SourceTensor*> out;
    for (const auto& f : files_)
        for (const SourceTensor& t : f->tensors()) out.push_back(&t);
    return out;
}

const SourceTensor* SafetensorsModel::find(const std::string& name) const {
    for (const auto& f : files_)
        for (const SourceTensor& t : f->tensors())
            if (t.name == name) return &t;
    return nullptr;
}

}  // namespace r1::convert
