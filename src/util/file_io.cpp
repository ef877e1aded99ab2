#include "file_io.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../error.h"

namespace r1 {

InputFile::InputFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(R1_ERR_IO, "%s: cannot open: %s", path.c_str(), std::strerror(errno));
    struct stat st;
    if (::fstat(fd_, &st) != 0) {
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        fail(R1_ERR_IO, "%s: cannot stat: %s", path.c_str(), std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd_);
        fd_ = -1;
        fail(R1_ERR_IO, "%s: not a regular file", path.c_str());
    }
    size_ = uint64_t(st.st_size);
}

InputFile::~InputFile() {
    if (fd_ >= 0) ::close(fd_);
}

void InputFile::read_at(uint64_t offset, void* dst, size_t n) const {
    auto* out = static_cast<unsigned char*>(dst);
    while (n > 0) {
        size_t chunk = n < (size_t(1) << 30) ? n : (size_t(1) << 30);
        ssize_t got = ::pread(fd_, out, chunk, off_t(offset));
        if (got < 0) {
            if (errno == EINTR) continue;
            fail(R1_ERR_IO, "%s: read of %zu bytes at offset %llu failed: %s", path_.c_str(), chunk,
                 (unsigned long long)offset, std::strerror(errno));
        }
        if (got == 0)
            fail(R1_ERR_IO, "%s: unexpected end of file at offset %llu (the file changed while reading?)",
                 path_.c_str(), (unsigned long long)offset);
        out += got;
        offset += uint64_t(got);
        n -= size_t(got);
    }
}

void* InputFile::map_readonly() const {
    if (size_ == 0) return nullptr;
    if (size_ > uint64_t(SIZE_MAX)) fail(R1_ERR_IO, "%s: too large to map on this platform", path_.c_str());
    void* p = ::mmap(nullptr, size_t(size_), PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) fail(R1_ERR_IO, "%s: mmap failed: %s", path_.c_str(), std::strerror(errno));
    return p;
}

void InputFile::unmap(void* addr, uint64_t size) {
    if (addr) ::munmap(addr, size_t(size));
}

void* aligned_alloc_or_throw(uint64_t size, const char* what) {
    void* p = nullptr;
    if (size > uint64_t(SIZE_MAX) - 64 || ::posix_memalign(&p, 64, size_t(size ? size : 1)) != 0 || !p)
        fail(R1_ERR_OUT_OF_MEMORY, "out of memory allocating %llu bytes for %s", (unsigned long long)size, what);
    return p;
}

void aligned_free(void* p) { std::free(p); }

void* pages_alloc_or_throw(uint64_t size, const char* what) {
    if (size == 0) size = 1;
    void* p = size > uint64_t(SIZE_MAX) ? MAP_FAILED
                                        : ::mmap(nullptr, size_t(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail(R1_ERR_OUT_OF_MEMORY, "out of memory allocating %llu bytes for %s", (unsigned long long)size, what);
    return p;
}

void pages_free(void* p, uint64_t size) {
    if (p) ::munmap(p, size_t(size ? size : 1));
}

uint64_t pages_release(const void* p, uint64_t n) {
    const long page_size = ::sysconf(_SC_PAGESIZE);
    const uintptr_t page = page_size > 0 ? uintptr_t(page_size) : 4096;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + uintptr_t(n)) / page * page;
    if (!p || end <= begin) return 0;
    // MADV_DONTNEED drops the pages: a file mapping reads the file again if touched, anonymous memory reads zeros.
    if (::madvise(reinterpret_cast<void*>(begin), size_t(end - begin), MADV_DONTNEED) != 0) return 0;
    return uint64_t(end - begin);
}

}  // namespace r1
