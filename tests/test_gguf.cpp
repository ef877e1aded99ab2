// The GGUF reader: every value type, alignment, big sparse files, every validation error, truncation and random
// corruption, and the shared fixtures.
#include <doctest/doctest.h>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "error.h"
#include "gguf_builder.h"
#include "test_util.h"

using r1::gguf::File;
using r1::gguf::LoadMode;
using r1::gguf::OpenOptions;
using r1::gguf::ValueType;
using r1test::GgufBuilder;

namespace {

std::unique_ptr<File> parse(const std::vector<uint8_t>& image) {
    return File::from_memory(image.data(), image.size());
}

// Parses and returns the error (status and message); fails the test when parsing succeeds.
r1::Error parse_error(const std::vector<uint8_t>& image) {
    try {
        parse(image);
    } catch (const r1::Error& e) {
        return e;
    }
    FAIL("parsing succeeded but should have failed");
    return r1::Error(R1_OK, "");
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("a small model parses from memory and from a file, mapped and read") {
    size_t data_offset = 0;
    std::vector<uint8_t> image = r1test::small_model(&data_offset);
    std::string path = r1test::temp_path("small.gguf");
    REQUIRE(r1test::write_file(path, image.data(), image.size()));

    for (int source = 0; source < 4; ++source) {
        CAPTURE(source);
        OpenOptions options;
        options.mode = (source & 1) ? LoadMode::Read : LoadMode::Mmap;
        std::unique_ptr<File> f = source < 2 ? File::from_memory(image.data(), image.size(), options)
                                             : File::open(path, options);
        CHECK(f->version() == 3);
        CHECK(f->alignment() == 32);
        CHECK(f->data_offset() == data_offset);
        CHECK(f->data_size() == 64 + 16);
        CHECK(f->file_size() == image.size());
        CHECK(f->is_mapped() == (source == 2));
        CHECK(f->get_string("general.architecture") == "qwen2");
        CHECK(f->get_int("qwen2.block_count", -1) == 2);
        CHECK(f->get_float("qwen2.rope.freq_base", 0) == 10000.0);
        CHECK(f->get_int("absent", 7) == 7);
        const r1::gguf::Value* tokens = f->find("tokenizer.ggml.tokens");
        REQUIRE(tokens);
        CHECK(tokens->count == 3);
        CHECK(tokens->strings[2] == "c");
        CHECK(tokens->strings[2].data()[1] == '\0');  // NUL-terminated in the arena
        REQUIRE(f->tensors().size() == 2);
        const r1::gguf::TensorInfo* embd = f->find_tensor("token_embd.weight");
        REQUIRE(embd);
        CHECK(embd->n_dims == 2);
        CHECK(embd->ne[0] == 4);
        CHECK(embd->ne[1] == 3);
        CHECK(embd->ne[2] == 1);
        CHECK(embd->size == 48);
        float v;
        std::memcpy(&v, f->tensor_data(*embd) + 4 * 11, 4);
        CHECK(v == 11.0f);
        const r1::gguf::TensorInfo* norm = f->find_tensor("output_norm.weight");
        REQUIRE(norm);
        CHECK(norm->offset == 64);
        std::memcpy(&v, f->tensor_data(*norm) + 12, 4);
        CHECK(v == 4.0f);
        CHECK(f->find_tensor("missing") == nullptr);
        CHECK_THROWS_AS(f->get_int("general.architecture", 0), r1::Error);  // a string, not an integer
    }
    unlink(path.c_str());
}

TEST_CASE("the fingerprint is xxh64 of the data section and the same in every mode") {
    std::vector<uint8_t> image = r1test::small_model();
    std::string path = r1test::temp_path("fp.gguf");
    REQUIRE(r1test::write_file(path, image.data(), image.size()));
    OpenOptions read;
    read.mode = LoadMode::Read;
    uint64_t a = parse(image)->fingerprint();
    uint64_t b = File::open(path)->fingerprint();
    uint64_t c = File::open(path, read)->fingerprint();
    CHECK(a == b);
    CHECK(a == c);
    image[image.size() - 1] ^= 1;  // last byte of the last tensor
    CHECK(parse(image)->fingerprint() != a);
    unlink(path.c_str());
}

TEST_CASE("every metadata value type, nested arrays included, reads back") {
    GgufBuilder b;
    b.header(0, 17, 2);
    b.str("u8"); b.u32(0); b.u8(200);
    b.str("i8"); b.u32(1); b.u8(uint8_t(-5));
    b.str("u16"); b.u32(2); b.u16(65000);
    b.str("i16"); b.u32(3); b.u16(uint16_t(-30000));
    b.str("u32"); b.u32(4); b.u32(4000000000u);
    b.str("i32"); b.u32(5); b.u32(uint32_t(-2000000000));
    b.str("f32"); b.u32(6); b.f32(0.5f);
    b.str("bool"); b.u32(7); b.u8(1);
    b.str("string"); b.u32(8); b.str(std::string("with\0nul", 8));
    b.str("u64"); b.u32(10); b.u64(18000000000000000000ull);
    b.str("i64"); b.u32(11); b.i64(-9000000000000000000ll);
    b.str("f64"); b.u32(12); b.f64(-2.25);
    b.kv_i32_array("ints", {1, -2, 3});
    b.kv_f32_array("floats", {0.25f, -1.5f});
    b.str("bools"); b.u32(9); b.u32(7); b.u64(3); b.u8(1); b.u8(0); b.u8(1);
    // An array of two arrays: [[1, 2], ["x"]].
    b.str("nested"); b.u32(9); b.u32(9); b.u64(2);
    b.u32(4); b.u64(2); b.u32(1); b.u32(2);
    b.u32(8); b.u64(1); b.str("x");
    b.str("empty"); b.u32(9); b.u32(8); b.u64(0);

    std::unique_ptr<File> f = parse(b.out);
    CHECK(f->version() == 2);
    CHECK(f->metadata().size() == 17);
    CHECK(f->find("u8")->num.u64 == 200);
    CHECK(f->find("i8")->num.i64 == -5);
    CHECK(f->find("u16")->num.u64 == 65000);
    CHECK(f->find("i16")->num.i64 == -30000);
    CHECK(f->find("u32")->num.u64 == 4000000000u);
    CHECK(f->find("i32")->num.i64 == -2000000000);
    CHECK(f->find("f32")->num.f64 == 0.5);
    CHECK(f->get_bool("bool", false));
    CHECK(f->find("string")->str == std::string_view("with\0nul", 8));
    CHECK(f->find("u64")->num.u64 == 18000000000000000000ull);
    CHECK_THROWS_AS(f->get_int("u64", 0), r1::Error);  // does not fit int64
    CHECK(f->find("i64")->num.i64 == -9000000000000000000ll);
    CHECK(f->get_float("f64", 0) == -2.25);
    const r1::gguf::Value* ints = f->find("ints");
    CHECK(ints->elem_type == ValueType::INT32);
    CHECK(ints->int_at(1) == -2);
    CHECK(f->find("floats")->float_at(1) == -1.5);
    CHECK(f->find("bools")->bool_at(0));
    CHECK_FALSE(f->find("bools")->bool_at(1));
    const r1::gguf::Value* nested = f->find("nested");
    REQUIRE(nested->arrays.size() == 2);
    CHECK(nested->arrays[0].elem_type == ValueType::UINT32);
    CHECK(nested->arrays[0].uint_at(1) == 2);
    CHECK(nested->arrays[1].strings[0] == "x");
    CHECK(f->find("empty")->count == 0);
}

TEST_CASE("general.alignment places the data section and every tensor") {
    GgufBuilder b;
    b.header(2, 1);
    b.kv_u32("general.alignment", 256);
    b.tensor_info("a", {3}, 0, 0);
    b.tensor_info("b", {5}, 0, 256);
    b.pad_to(256);
    size_t start = b.size();
    for (int i = 0; i < 3; ++i) b.f32(1.0f);
    while (b.size() < start + 256) b.u8(0);
    for (int i = 0; i < 5; ++i) b.f32(2.0f);
    std::unique_ptr<File> f = parse(b.out);
    CHECK(f->alignment() == 256);
    CHECK(f->data_offset() == start);
    CHECK(f->data_offset() % 256 == 0);
    CHECK(f->data_size() == 256 + 20);
}

TEST_CASE("a vocabulary-only file (no tensors) may end before the padded data section") {
    GgufBuilder b;
    b.header(0, 1);
    b.kv_str("general.architecture", "llama");  // the file ends right here, unpadded
    std::unique_ptr<File> f = parse(b.out);
    CHECK(f->tensors().empty());
    CHECK(f->data_size() == 0);
    CHECK(f->fingerprint() == f->fingerprint());
}

TEST_CASE("big files: tensors past 4 GiB in a sparse file") {
    // A 5 GiB F32 tensor after a 3 GiB one: offsets and sizes need 64 bits. The file is sparse, so it takes no
    // disk space, and the reader must not touch the data to parse it.
    const uint64_t n1 = uint64_t(3) << 28;  // 3 GiB of f32
    const uint64_t n2 = uint64_t(5) << 28;  // 5 GiB of f32
    GgufBuilder b;
    b.header(2, 0);
    b.tensor_info("first", {n1 / 1024, 1024}, 0, 0);
    b.tensor_info("second", {1024, n2 / 1024}, 0, n1 * 4);
    b.pad_to(32);
    uint64_t data_offset = b.size();
    uint64_t total = data_offset + (n1 + n2) * 4;
    std::string path = r1test::temp_path("sparse.gguf");
    REQUIRE(r1test::write_file(path, b.out.data(), b.out.size()));
    int fd = ::open(path.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, off_t(total)) == 0);
    REQUIRE(::pwrite(fd, "\x7f", 1, off_t(total - 1)) == 1);  // the very last byte of "second"
    ::close(fd);

    std::unique_ptr<File> f = File::open(path);
    CHECK(f->file_size() == total);
    const r1::gguf::TensorInfo* second = f->find_tensor("second");
    REQUIRE(second);
    CHECK(second->offset == n1 * 4);
    CHECK(second->size == n2 * 4);
    CHECK(f->data_size() == (n1 + n2) * 4);
    CHECK(f->tensor_data(*second)[second->size - 1] == 0x7f);
    CHECK(f->tensor_data(*second)[0] == 0);

    // One byte short: the second tensor no longer fits.
    fd = ::open(path.c_str(), O_WRONLY);
    REQUIRE(::ftruncate(fd, off_t(total - 1)) == 0);
    ::close(fd);
    try {
        File::open(path);
        FAIL("expected an error");
    } catch (const r1::Error& e) {
        CHECK(e.status() == R1_ERR_FORMAT);
        CHECK(contains(e.message(), "tensor 'second' data"));
    }
    unlink(path.c_str());
}

TEST_CASE("every validation error is reported with its cause and byte offset") {
    struct Case {
        const char* what;
        std::function<void(GgufBuilder&)> build;
        r1_status status;
        const char* message;  // a fragment the message must contain
    };
    const std::vector<Case> cases = {
        {"empty file", [](GgufBuilder&) {}, R1_ERR_FORMAT, "too small for a GGUF header"},
        {"short header", [](GgufBuilder& b) { b.raw("GGUF", 4); b.u32(3); }, R1_ERR_FORMAT, "too small"},
        {"bad magic", [](GgufBuilder& b) { b.raw("GGML", 4); b.u32(3); b.u64(0); b.u64(0); }, R1_ERR_FORMAT,
         "at byte 0: bad magic"},
        {"version 1", [](GgufBuilder& b) { b.header(0, 0, 1); }, R1_ERR_UNSUPPORTED, "version 1"},
        {"version 0", [](GgufBuilder& b) { b.header(0, 0, 0); }, R1_ERR_FORMAT, "version 0"},
        {"version 4", [](GgufBuilder& b) { b.header(0, 0, 4); }, R1_ERR_UNSUPPORTED, "version 4"},
        {"big-endian", [](GgufBuilder& b) { b.header(0, 0, 0x03000000); }, R1_ERR_UNSUPPORTED, "big-endian"},
        {"huge tensor count", [](GgufBuilder& b) { b.header(uint64_t(1) << 40, 0); }, R1_ERR_FORMAT,
         "at byte 8: 1099511627776 tensors"},
        {"huge metadata count", [](GgufBuilder& b) { b.header(0, ~uint64_t(0)); }, R1_ERR_FORMAT, "metadata pairs"},
        {"key length past the end", [](GgufBuilder& b) { b.header(0, 1); b.u64(1000); b.raw("abcdefgh", 8); },
         R1_ERR_FORMAT, "at byte 24: metadata key length 1000 exceeds the 8 bytes left"},
        {"huge key length", [](GgufBuilder& b) { b.header(0, 1); b.u64(~uint64_t(0)); b.raw("abcdefgh", 8); },
         R1_ERR_FORMAT, "metadata key length 18446744073709551615"},
        {"key over the limit", [](GgufBuilder& b) { b.header(0, 1); b.kv_u32(std::string(70000, 'k'), 1); },
         R1_ERR_FORMAT, "exceeds the limit"},
        {"empty key", [](GgufBuilder& b) { b.header(0, 1); b.kv_u32("", 1); b.u64(0); }, R1_ERR_FORMAT,
         "key 0 is empty"},
        {"duplicate key", [](GgufBuilder& b) { b.header(0, 2); b.kv_u32("a.b", 1); b.kv_u32("a.b", 2); },
         R1_ERR_FORMAT, "duplicate metadata key 'a.b'"},
        {"unknown value type", [](GgufBuilder& b) { b.header(0, 1); b.str("k"); b.u32(13); b.u64(0); },
         R1_ERR_FORMAT, "at byte 33: unknown metadata value type 13"},
        {"string value past the end", [](GgufBuilder& b) { b.header(0, 1); b.str("k"); b.u32(8); b.u64(99); },
         R1_ERR_FORMAT, "string value length 99 exceeds"},
        {"truncated scalar", [](GgufBuilder& b) { b.header(0, 1); b.str("k"); b.u32(10); b.u32(0); b.u8(0); },
         R1_ERR_FORMAT, "value needs 8 bytes"},
        {"array count past the end", [](GgufBuilder& b) { b.header(0, 1); b.str("k"); b.u32(9); b.u32(5); b.u64(1000); },
         R1_ERR_FORMAT, "array of 1000 int32 elements cannot fit"},
        {"array count overflow", [](GgufBuilder& b) { b.header(0, 1); b.str("k"); b.u32(9); b.u32(10); b.u64(uint64_t(1) << 62); },
         R1_ERR_FORMAT, "cannot fit"},
        {"unknown array element type", [](GgufBuilder& b) { b.header(0, 1); b.str("k"); b.u32(9); b.u32(77); b.u64(0); },
         R1_ERR_FORMAT, "unknown array element type 77"},
        {"arrays nested too deep",
         [](GgufBuilder& b) {
             b.header(0, 1); b.str("k"); b.u32(9);
             for (int i = 0; i < 12; ++i) { b.u32(9); b.u64(1); }
             b.u32(4); b.u64(0);
         },
         R1_ERR_FORMAT, "nested deeper"},
        {"bool value 2", [](GgufBuilder& b) { b.header(0, 1); b.str("k"); b.u32(7); b.u8(2); b.u64(0); },
         R1_ERR_FORMAT, "bool value 2"},
        {"bool array value 5", [](GgufBuilder& b) { b.header(0, 1); b.str("k"); b.u32(9); b.u32(7); b.u64(2); b.u8(0); b.u8(5); },
         R1_ERR_FORMAT, "bool value 5"},
        {"alignment not a power of two", [](GgufBuilder& b) { b.header(0, 1); b.kv_u32("general.alignment", 48); },
         R1_ERR_FORMAT, "alignment 48 is not a power of two"},
        {"alignment zero", [](GgufBuilder& b) { b.header(0, 1); b.kv_u32("general.alignment", 0); },
         R1_ERR_FORMAT, "not a power of two"},
        {"alignment of the wrong type", [](GgufBuilder& b) { b.header(0, 1); b.kv_u64("general.alignment", 32); },
         R1_ERR_FORMAT, "general.alignment has type uint64"},
        {"empty tensor name", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("", {4}, 0, 0); b.u64(0); },
         R1_ERR_FORMAT, "at byte 24: tensor 0 has an empty name"},
        {"tensor name over the limit", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info(std::string(300, 't'), {4}, 0, 0); },
         R1_ERR_FORMAT, "tensor name length 300 exceeds the limit"},
        {"duplicate tensor name",
         [](GgufBuilder& b) { b.header(2, 0); b.tensor_info("w", {8}, 0, 0); b.tensor_info("w", {8}, 0, 32); },
         R1_ERR_FORMAT, "duplicate tensor name 'w'"},
        {"zero dimensions", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {}, 0, 0); b.u64(0); b.u64(0); },
         R1_ERR_FORMAT, "tensor 'w' has 0 dimensions"},
        {"five dimensions", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {1, 1, 1, 1, 1}, 0, 0); },
         R1_ERR_FORMAT, "tensor 'w' has 5 dimensions"},
        {"a zero dimension", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {4, 0}, 0, 0); },
         R1_ERR_FORMAT, "dimension 1 is 0"},
        {"a negative dimension", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {~uint64_t(0)}, 0, 0); },
         R1_ERR_FORMAT, "dimension 0 is -1"},
        {"element count overflow",
         [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {uint64_t(1) << 40, uint64_t(1) << 30}, 0, 0); },
         R1_ERR_FORMAT, "more elements than fit in 63 bits"},
        {"unknown type id", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {32}, 99, 0); },
         R1_ERR_FORMAT, "unknown type id 99"},
        {"removed type id", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {32}, 4, 0); },
         R1_ERR_FORMAT, "unknown type id 4"},
        {"row not a multiple of the block", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {33, 2}, 2, 0); },
         R1_ERR_FORMAT, "rows of 33 elements, not a multiple of the q4_0 block size 32"},
        {"misaligned offset", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {8}, 0, 4); },
         R1_ERR_FORMAT, "offset 4 is not a multiple of the alignment 32"},
        {"data past the end", [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {8}, 0, 0); b.pad_to(32); b.f32(1); },
         R1_ERR_FORMAT, "tensor 'w' data [0, +32) lies outside the data section (4 bytes"},
        {"offset plus size overflows",
         [](GgufBuilder& b) { b.header(1, 0); b.tensor_info("w", {8}, 0, ~uint64_t(31)); b.pad_to(32); },
         R1_ERR_FORMAT, "lies outside the data section"},
        {"overlapping tensors",
         [](GgufBuilder& b) {
             b.header(2, 0); b.tensor_info("a", {16}, 0, 0); b.tensor_info("b", {16}, 0, 32);
             b.pad_to(32); for (int i = 0; i < 48; ++i) b.f32(0);
         },
         R1_ERR_FORMAT, "tensor 'b' overlaps tensor 'a'"},
    };
    for (const Case& c : cases) {
        std::string what = c.what;
        CAPTURE(what);
        GgufBuilder b;
        c.build(b);
        r1::Error e = parse_error(b.out);
        CHECK(e.status() == c.status);
        CHECK_MESSAGE(contains(e.message(), c.message), e.message());
        CHECK(contains(e.message(), "<memory>"));
    }
}

TEST_CASE("every truncation of a valid file is an error, never a crash") {
    // A file with every structure: metadata of several types, arrays, two tensors and their data.
    GgufBuilder b;
    b.header(2, 4);
    b.kv_str("general.architecture", "llama");
    b.kv_str_array("tokenizer.ggml.tokens", {"x", "yy", "zzz"});
    b.kv_f32_array("tokenizer.ggml.scores", {0.f, 1.f, 2.f});
    b.kv_u32("llama.block_count", 1);
    b.tensor_info("a", {32}, 8, 0);  // one Q8_0 block: 34 bytes
    b.tensor_info("b", {4}, 0, 64);
    b.pad_to(32);
    size_t start = b.size();
    for (int i = 0; i < 34; ++i) b.u8(uint8_t(i));
    while (b.size() < start + 64) b.u8(0);
    for (int i = 0; i < 4; ++i) b.f32(float(i));
    REQUIRE_NOTHROW(parse(b.out));
    for (size_t n = 0; n < b.out.size(); ++n) {
        std::vector<uint8_t> prefix(b.out.begin(), b.out.begin() + long(n));
        try {
            parse(prefix);
            FAIL("a truncated file parsed: " << n << " bytes");
        } catch (const r1::Error& e) {
            CHECK(e.status() == R1_ERR_FORMAT);
        }
    }
}

TEST_CASE("random corruption never crashes the reader") {
    std::vector<uint8_t> image = r1test::small_model();
    std::random_device rd;
    unsigned seed = rd();
    CAPTURE(seed);
    std::mt19937 rng(seed);
    int errors = 0;
    for (int trial = 0; trial < 20000; ++trial) {
        std::vector<uint8_t> bad = image;
        int flips = 1 + int(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            size_t at = rng() % bad.size();
            if (rng() % 2) bad[at] ^= uint8_t(1u << (rng() % 8));
            else bad[at] = uint8_t(rng());
        }
        try {
            std::unique_ptr<File> f = parse(bad);
            for (const auto& t : f->tensors()) CHECK(t.offset + t.size <= f->data_size());
        } catch (const r1::Error& e) {
            ++errors;
            CHECK((e.status() == R1_ERR_FORMAT || e.status() == R1_ERR_UNSUPPORTED));
        }
    }
    MESSAGE("corrupted images rejected: " << errors << " of 20000 (seed " << seed << ")");
}

TEST_CASE("I/O errors name the file") {
    try {
        File::open("/nonexistent/model.gguf");
        FAIL("expected an error");
    } catch (const r1::Error& e) {
        CHECK(e.status() == R1_ERR_IO);
        CHECK(contains(e.message(), "/nonexistent/model.gguf"));
    }
    try {
        File::open(r1test::temp_path(""));  // a directory
        FAIL("expected an error");
    } catch (const r1::Error& e) {
        CHECK(e.status() == R1_ERR_IO);
        CHECK(contains(e.message(), "not a regular file"));
    }
}

TEST_CASE("the progress callback can cancel loading") {
    std::vector<uint8_t> image = r1test::small_model();
    std::string path = r1test::temp_path("progress.gguf");
    REQUIRE(r1test::write_file(path, image.data(), image.size()));
    for (LoadMode mode : {LoadMode::Mmap, LoadMode::Read}) {
        std::vector<float> seen;
        OpenOptions options;
        options.mode = mode;
        options.progress = [&](float p) { seen.push_back(p); return true; };
        File::open(path, options);
        REQUIRE(seen.size() >= 2);
        CHECK(seen.front() == 0.0f);
        CHECK(seen.back() == 1.0f);
        int calls = 0;
        options.progress = [&](float) { return ++calls < 2; };
        try {
            File::open(path, options);
            FAIL("expected cancellation");
        } catch (const r1::Error& e) {
            CHECK(e.status() == R1_ERR_CANCELLED);
        }
    }
    unlink(path.c_str());
}

// ---------------------------------------------------------------------------------------------------------------
// Shared fixtures: every GGUF there parses, and known facts hold.
// ---------------------------------------------------------------------------------------------------------------

namespace {

std::vector<std::string> list_ggufs(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            std::string name = e->d_name;
            if (name.size() > 5 && name.substr(name.size() - 5) == ".gguf") out.push_back(dir + "/" + name);
        }
        closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("fixtures: every GGUF parses in both load modes with consistent facts") {
    R1_REQUIRE_FIXTURES(dir);
    std::vector<std::string> files = list_ggufs(dir + "/models");
    std::vector<std::string> vocabs = list_ggufs(dir + "/tokenizer");
    files.insert(files.end(), vocabs.begin(), vocabs.end());
    REQUIRE(files.size() >= 25);
    for (const std::string& path : files) {
        CAPTURE(path);
        std::unique_ptr<File> mapped = File::open(path);
        OpenOptions read;
        read.mode = LoadMode::Read;
        std::unique_ptr<File> owned = File::open(path, read);
        CHECK(mapped->fingerprint() == owned->fingerprint());
        CHECK(mapped->data_size() == owned->data_size());
        std::string_view arch = mapped->get_string("general.architecture");
        CHECK((arch == "qwen2" || arch == "llama" || arch == "qwen3"));
        CHECK(mapped->version() == 3);
        for (const auto& t : mapped->tensors()) {
            CHECK(t.offset % mapped->alignment() == 0);
            CHECK(t.offset + t.size <= mapped->data_size());
            CHECK(r1::dtype_row_bytes(t.type, uint64_t(t.ne[0])) * uint64_t(t.ne[1] * t.ne[2] * t.ne[3]) == t.size);
        }
    }
}

TEST_CASE("fixtures: known facts of the synthetic models and vocabularies") {
    R1_REQUIRE_FIXTURES(dir);
    {
        std::unique_ptr<File> f = File::open(dir + "/models/qwen2-tiny-F32.gguf");
        CHECK(f->get_string("general.architecture") == "qwen2");
        CHECK(f->get_int("qwen2.block_count", 0) == 2);
        CHECK(f->get_int("qwen2.embedding_length", 0) == 256);
        CHECK(f->get_int("qwen2.feed_forward_length", 0) == 768);
        CHECK(f->get_int("qwen2.attention.head_count", 0) == 2);
        CHECK(f->get_int("qwen2.attention.head_count_kv", 0) == 1);
        CHECK(f->get_int("qwen2.context_length", 0) == 4096);
        CHECK(f->find("tokenizer.ggml.tokens")->count == 512);
        const r1::gguf::TensorInfo* embd = f->find_tensor("token_embd.weight");
        REQUIRE(embd);
        CHECK(embd->type == r1::DType::F32);
        CHECK(embd->ne[0] == 256);
        CHECK(embd->ne[1] == 512);
        REQUIRE(f->find_tensor("blk.0.attn_q.bias"));
        REQUIRE(f->find_tensor("output.weight"));
    }
    {
        std::unique_ptr<File> f = File::open(dir + "/models/qwen2-tiny-Q4_K_M.gguf");
        CHECK(f->find_tensor("output.weight")->type == r1::DType::Q6_K);
        CHECK(f->find_tensor("blk.1.attn_v.weight")->type == r1::DType::Q6_K);
        CHECK(f->find_tensor("blk.0.attn_q.weight")->type == r1::DType::Q4_K);
        CHECK(f->get_int("general.file_type", -1) == 15);
    }
    {
        std::unique_ptr<File> f = File::open(dir + "/models/llama-tiny-F16.gguf");
        CHECK(f->get_string("general.architecture") == "llama");
        const r1::gguf::TensorInfo* freqs = f->find_tensor("rope_freqs.weight");
        REQUIRE(freqs);
        CHECK(freqs->ne[0] == 64);
    }
    {
        std::unique_ptr<File> f = File::open(dir + "/models/stories260K.gguf");
        CHECK(f->get_string("general.architecture") == "llama");
        CHECK(f->get_string("tokenizer.ggml.model") == "llama");
        CHECK(f->get_int("llama.embedding_length", 0) == 64);
        CHECK(f->get_int("llama.block_count", 0) == 5);
        CHECK(f->get_int("llama.attention.head_count", 0) == 8);
        CHECK(f->get_int("llama.attention.head_count_kv", 0) == 4);
        CHECK(f->find("tokenizer.ggml.tokens")->count == 512);
    }
    {
        std::unique_ptr<File> f = File::open(dir + "/tokenizer/r1-distill-qwen.vocab.gguf");
        CHECK(f->tensors().empty());
        CHECK(f->get_string("tokenizer.ggml.model") == "gpt2");
        CHECK(f->get_string("tokenizer.ggml.pre") == "deepseek-r1-qwen");
        CHECK(f->find("tokenizer.ggml.tokens")->count == 151936);
        CHECK(f->find("tokenizer.ggml.merges")->count == 151387);
        CHECK(f->get_int("tokenizer.ggml.bos_token_id", -1) == 151646);
        CHECK(f->get_int("tokenizer.ggml.eos_token_id", -1) == 151643);
        CHECK(f->find("tokenizer.ggml.tokens")->strings[151648] == "<think>");
        CHECK(f->has("tokenizer.chat_template"));
    }
    {
        std::unique_ptr<File> f = File::open(dir + "/tokenizer/r1-distill-llama.vocab.gguf");
        CHECK(f->find("tokenizer.ggml.tokens")->count == 128256);
        CHECK(f->find("tokenizer.ggml.merges")->count == 280147);
        CHECK(f->get_string("tokenizer.ggml.pre") == "llama-bpe");
    }
}
