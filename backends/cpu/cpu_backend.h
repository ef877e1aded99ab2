// The CPU backend's interface table (always built in).
#pragma once

#include "../../src/backend/backend.h"

namespace r1::cpu {
const r1b_backend_iface* cpu_backend_iface();
}
