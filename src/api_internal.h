// Shared by the C ABI translation units (api*.cpp): the handle structs and the error boundary.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "error.h"
#include "r1.h"

namespace r1 {
class Model;
class Session;
}  // namespace r1

struct r1_model {
    // Shared with the sessions made from the model, so that freeing the model while sessions live (as garbage
    // collectors of language bindings may do) only drops this reference.
    std::shared_ptr<r1::Model> impl;
};

namespace r1api {

// The thread's last error message (api.cpp).
void set_last_error(const char* message) noexcept;


template <class Body>
inline r1_status guard(Body&& body) noexcept {
    try {
        body();
        return R1_OK;
    } catch (const r1::Error& e) {
        set_last_error(e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        set_last_error("out of memory");
        return R1_ERR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        try {
            set_last_error((std::string("internal error: ") + e.what()).c_str());
        } catch (...) {
        }
        return R1_ERR_INTERNAL;
    } catch (...) {
        set_last_error("internal error: unknown exception");
        return R1_ERR_INTERNAL;
    }
}

inline void require(bool ok, const char* what) {
    if (!ok) r1::fail(R1_ERR_INVALID_ARGUMENT, "%s", what);
}

// Copies a caller's versioned parameter struct over the defaults: fields the caller's (older) struct lacks keep
// their defaults, fields a newer caller knows but this library does not are ignored.
template <class Params>
Params read_params(const Params* in, void (*init)(Params*), const char* name) {
    Params p;
    init(&p);
    if (!in) return p;
    if (in->struct_size < sizeof(uint32_t))
        r1::fail(R1_ERR_INVALID_ARGUMENT, "%s.struct_size is %u; initialise the struct with its _init function",
                 name, in->struct_size);
    std::memcpy(&p, in, std::min<size_t>(in->struct_size, sizeof p));
    p.struct_size = sizeof p;
    return p;
}

// Writes a filled output struct into the caller's, up to the size the caller declared.
template <class Out>
void write_out(Out* dst, const Out& src, const char* name) {
    if (dst->struct_size < sizeof(uint32_t) * 2)
        r1::fail(R1_ERR_INVALID_ARGUMENT, "%s.struct_size is %u; set it to sizeof(%s)", name, dst->struct_size, name);
    uint32_t size = dst->struct_size;
    std::memcpy(dst, &src, std::min<size_t>(size, sizeof src));
    dst->struct_size = size;
}

}  // namespace r1api
