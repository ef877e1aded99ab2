// r1-tiny end to end: the bundled reasoning model answers the 200 held-out problems of models/r1-tiny-heldout.tsv
// (never seen in training) through the public C API, greedy, with its thought streamed apart from the answer.
// The F32 file is bundled; the F16, Q8_0 and Q4_K_M variants are made here with r1_model_quantize.
// Accuracy bounds: 98% for F32 / F16 / Q8_0 and 95% for Q4_K_M; with a thinking budget of 0 the accuracy is
// reported (the model answers from intuition: far less accurate, which is the point of the demo).
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "r1_tiny.h"

using namespace r1tiny;

TEST_CASE("r1-tiny: 200 held-out problems, greedy, in F32 / F16 / Q8_0 / Q4_K_M, and with a thinking budget of 0") {
    const std::string model = std::string(R1_SOURCE_DIR) + "/models/r1-tiny.gguf";
    const std::vector<Problem> problems = heldout();
    REQUIRE_MESSAGE(problems.size() == 200, "models/r1-tiny-heldout.tsv should hold 200 problems");

    const Score f32 = run(model, problems, -1);
    MESSAGE("F32: " << f32.correct << "/" << f32.total << " correct in " << f32.seconds << " s");
    CHECK(f32.with_thought == f32.total);  // every reply thinks first, streamed as THINKING events
    CHECK(f32.accuracy() >= 0.98);

    const Score no_thought = run(model, problems, 0);
    MESSAGE("F32, thinking budget 0: " << no_thought.correct << "/" << no_thought.total << " correct");
    CHECK(no_thought.with_thought == 0);
    CHECK(no_thought.accuracy() < f32.accuracy());

    const struct {
        const char* type;
        double bound;
    } variants[] = {{"F16", 0.98}, {"Q8_0", 0.98}, {"Q4_K_M", 0.95}};
    for (const auto& v : variants) {
        const std::string path = quantized(model, v.type);
        const Score s = run(path, problems, -1);
        const Score s0 = run(path, problems, 0);
        MESSAGE(std::string(v.type) << ": " << s.correct << "/" << s.total << " correct in " << s.seconds
                                    << " s; thinking budget 0: " << s0.correct << "/" << s0.total);
        CHECK(s.accuracy() >= v.bound);
        std::remove(path.c_str());
    }
}
