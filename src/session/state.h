// Saving and restoring a session's state: a versioned binary format tied to the model's fingerprint.
//
// Layout (little-endian):
//   "R1ST" | u32 version (1) | u64 model fingerprint | u32 kv type | u32 layers | u64 kv row bytes
//   | u64 token count n | u64 vocabulary size | u32 has logits | i32 tokens[n] | f32 logits[vocab] (if any)
//   | KV rows [0, n) of each layer, keys then values | u64 xxh64 of everything before it
#pragma once

#include <cstdint>
#include <vector>

#include "session.h"

namespace r1 {

std::vector<uint8_t> save_state(const Session& session);

// Throws r1::Error: R1_ERR_FORMAT (not a state or damaged), R1_ERR_UNSUPPORTED (another model, version or KV
// type), R1_ERR_OUT_OF_RANGE (more tokens than the context holds). On error the session is unchanged.
void load_state(Session& session, const uint8_t* data, size_t size);

}  // namespace r1
