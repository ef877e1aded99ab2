#include "state.h"

#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../error.h"

namespace r1 {
namespace {

constexpr uint32_t kStateMagic = 0x54533152;  // "R1ST"
constexpr uint32_t kStateVersion = 1;

struct Writer {
    std::vector<uint8_t>& out;
    template <class T>
    void put(const T& v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        out.insert(out.end(), p, p + sizeof v);
    }
    void bytes(const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        out.insert(out.end(), b, b + n);
    }
};

struct Reader {
    const uint8_t* data;
    size_t size;
    size_t at = 0;
    template <class T>
    T get(const char* what) {
        T v;
        need(sizeof v, what);
        std::memcpy(&v, data + at, sizeof v);
        at += sizeof v;
        return v;
    }
    const uint8_t* take(uint64_t n, const char* what) {
        need(n, what);
        const uint8_t* p = data + at;
        at += size_t(n);
        return p;
    }
    void need(uint64_t n, const char* what) const {
        if (n > size - at)
            fail(R1_ERR_FORMAT, "session state: truncated at byte %zu (%s needs %llu bytes, %zu left)", at, what,
                 (unsigned long long)n, size - at);
    }
};

}  // namespace

std::vector<uint8_t> save_state(const Session& session) {
    const Model& m = session.model();
    const int64_t n = session.position();
    std::vector<uint8_t> out;
    Writer w{out};
    w.put(kStateMagic);
    w.put(kStateVersion);
    w.put(uint64_t(m.file().fingerprint()));
    w.put(uint32_t(session.kv_type()));
    w.put(uint32_t(m.hparams().n_layers));
    w.put(uint64_t(session.kv_row_bytes()));
    w.put(uint64_t(n));
    w.put(uint64_t(session.n_vocab()));
    const bool has_logits = session.logits_rows() > 0;
    w.put(uint32_t(has_logits ? 1 : 0));
    w.bytes(session.tokens().data(), size_t(n) * sizeof(int32_t));
    if (has_logits) {
        const float* last = session.logits() + size_t(session.logits_rows() - 1) * size_t(session.n_vocab());
        w.bytes(last, size_t(session.n_vocab()) * sizeof(float));
    }
    if (n > 0) {
        std::vector<uint8_t> kv = session.read_kv(0, n);
        w.bytes(kv.data(), kv.size());
    }
    w.put(uint64_t(XXH64(out.data(), out.size(), 0)));
    return out;
}

void load_state(Session& session, const uint8_t* data, size_t size) {
    if (!data) fail(R1_ERR_INVALID_ARGUMENT, "the state buffer is NULL");
    if (size < 8 + 8) fail(R1_ERR_FORMAT, "session state: %zu bytes is too short", size);
    uint64_t stored;
    std::memcpy(&stored, data + size - 8, 8);
    Reader r{data, size - 8};
    if (r.get<uint32_t>("magic") != kStateMagic) fail(R1_ERR_FORMAT, "not an r1 session state (bad magic)");
    uint32_t version = r.get<uint32_t>("version");
    if (version != kStateVersion)
        fail(R1_ERR_UNSUPPORTED, "session state version %u; this library reads version %u", version, kStateVersion);
    if (XXH64(data, size - 8, 0) != stored) fail(R1_ERR_FORMAT, "session state: checksum mismatch (damaged data)");
    const Model& m = session.model();
    uint64_t fingerprint = r.get<uint64_t>("fingerprint");
    if (fingerprint != m.file().fingerprint())
        fail(R1_ERR_UNSUPPORTED, "the state was saved from another model (fingerprint %016llx, this model %016llx)",
             (unsigned long long)fingerprint, (unsigned long long)m.file().fingerprint());
    uint32_t kv_type = r.get<uint32_t>("kv type");
    uint32_t layers = r.get<uint32_t>("layers");
    uint64_t row_bytes = r.get<uint64_t>("kv row bytes");
    if (kv_type != uint32_t(session.kv_type()) || layers != m.hparams().n_layers || row_bytes != session.kv_row_bytes())
        fail(R1_ERR_UNSUPPORTED, "the state's KV cache (type %s) differs from this session's (type %s)",
             dtype_name(kv_type), dtype_name(uint32_t(session.kv_type())));
    uint64_t n = r.get<uint64_t>("token count");
    uint64_t vocab = r.get<uint64_t>("vocabulary size");
    uint32_t has_logits = r.get<uint32_t>("logits flag");
    if (vocab != uint64_t(session.n_vocab()) || has_logits > 1) fail(R1_ERR_FORMAT, "session state: bad header");
    if (n > uint64_t(session.n_ctx()))
        fail(R1_ERR_OUT_OF_RANGE, "the state holds %llu tokens; this session's context holds %lld",
             (unsigned long long)n, (long long)session.n_ctx());
    const uint8_t* tokens = r.take(n * sizeof(int32_t), "tokens");
    std::vector<int32_t> ids(static_cast<size_t>(n));
    std::memcpy(ids.data(), tokens, size_t(n) * sizeof(int32_t));
    for (int32_t id : ids)
        if (id < 0 || id >= session.n_vocab()) fail(R1_ERR_FORMAT, "session state: token id %d out of range", id);
    std::vector<float> logits;
    if (has_logits) {
        const uint8_t* p = r.take(vocab * sizeof(float), "logits");
        logits.resize(size_t(vocab));
        std::memcpy(logits.data(), p, logits.size() * sizeof(float));
    }
    const uint64_t kv_bytes = uint64_t(layers) * 2 * n * row_bytes;
    const uint8_t* kv = r.take(kv_bytes, "KV cache");
    if (r.at != r.size) fail(R1_ERR_FORMAT, "session state: %zu unexpected bytes at the end", r.size - r.at);
    if (n > 0) session.write_kv(0, int64_t(n), std::vector<uint8_t>(kv, kv + kv_bytes));
    session.set_tokens(std::move(ids), std::move(logits));
}

}  // namespace r1
