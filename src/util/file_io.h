// Minimal platform layer for reading files: open, positional reads, read-only mappings.
// All failures throw r1::Error(R1_ERR_IO) with the path and the system's reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace r1 {

class InputFile {
public:
    explicit InputFile(const std::string& path);  // throws R1_ERR_IO
    ~InputFile();
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Reads exactly n bytes at offset; throws R1_ERR_IO on failure or a short read.
    void read_at(uint64_t offset, void* dst, size_t n) const;

    // Maps the whole file read-only; returns nullptr for an empty file. Throws R1_ERR_IO when mapping fails.
    void* map_readonly() const;
    static void unmap(void* addr, uint64_t size);

private:
    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
};

// Allocation of large, 64-byte aligned buffers; throws R1_ERR_OUT_OF_MEMORY.
void* aligned_alloc_or_throw(uint64_t size, const char* what);
void aligned_free(void* p);

// Page-granular memory (an anonymous mapping) for large buffers whose parts are given back before the whole;
// throws R1_ERR_OUT_OF_MEMORY. Free with pages_free(p, size).
void* pages_alloc_or_throw(uint64_t size, const char* what);
void pages_free(void* p, uint64_t size);
// Gives the whole pages inside [p, p + n) of a mapping (pages_alloc_or_throw or InputFile::map_readonly) back to
// the system and returns how many bytes that was (0 when none, or when the system refused). Reading them again
// yields the file's bytes for a file mapping and zeros for anonymous memory.
uint64_t pages_release(const void* p, uint64_t n);

}  // namespace r1
