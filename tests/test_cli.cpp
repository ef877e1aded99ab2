// The r1 program: exit codes, messages and output, on good files, the fixtures and many hostile files.
#include <doctest/doctest.h>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "gguf_builder.h"
#include "test_util.h"

extern char** environ;

namespace {

struct Result {
    int exit_code = -1;  // -1 when killed by a signal
    int signal = 0;
    std::string out, err;
};

std::string slurp(const std::string& path) {
    std::vector<unsigned char> bytes;
    r1test::read_file(path, bytes);
    return std::string(bytes.begin(), bytes.end());
}

// Runs the r1 program with `args`, capturing stdout and stderr through temporary files.
Result run(const std::vector<std::string>& args) {
    std::string out_path = r1test::temp_path("cli.out"), err_path = r1test::temp_path("cli.err");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> all = {R1_PROGRAM};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    pid_t pid;
    Result r;
    int rc = posix_spawn(&pid, R1_PROGRAM, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

void expect_clean_failure(const Result& r) {
    CHECK(r.signal == 0);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(starts_with(r.err, "r1: error: "), r.err);
}

std::string write_temp(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::string path = r1test::temp_path(name);
    REQUIRE(r1test::write_file(path, bytes.data(), bytes.size()));
    return path;
}

}  // namespace

TEST_CASE("version, help and usage errors") {
    Result r = run({"version"});
    CHECK(r.exit_code == 0);
    CHECK(starts_with(r.out, "r1 "));
    r = run({"--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("info") != std::string::npos);
    r = run({"info", "--help"});
    CHECK(r.exit_code == 0);
    CHECK(starts_with(r.out, "usage: r1 info"));
    r = run({"version", "--help"});
    CHECK(r.exit_code == 0);
    expect_clean_failure(run({}));
    expect_clean_failure(run({"frobnicate"}));
    expect_clean_failure(run({"info"}));
    expect_clean_failure(run({"info", "--bogus", "x.gguf"}));
    expect_clean_failure(run({"info", "/no/such/file.gguf"}));
}

TEST_CASE("info on a small model, as text and as JSON") {
    std::string path = write_temp("cli-small.gguf", r1test::small_model());
    Result r = run({"info", path});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("architecture:   qwen2") != std::string::npos);
    CHECK(r.out.find("fingerprint:    xxh64:") != std::string::npos);
    CHECK(r.err.empty());
    r = run({"info", path, "--tensors"});
    CHECK(r.out.find("token_embd.weight") != std::string::npos);
    r = run({"info", "--json", path});
    REQUIRE(r.exit_code == 0);
    nlohmann::json j = nlohmann::json::parse(r.out);
    CHECK(j["architecture"] == "qwen2");
    CHECK(j["n_params"] == 16);
    CHECK(j["tensors"].size() == 2);
    CHECK(j["metadata"]["qwen2.block_count"] == 2);
    CHECK(j["metadata"]["tokenizer.ggml.tokens"].size() == 3);
    Result mapped = run({"info", "--json", path});
    Result read = run({"info", "--json", "--no-mmap", path});
    CHECK(nlohmann::json::parse(mapped.out)["fingerprint"] == nlohmann::json::parse(read.out)["fingerprint"]);
}

TEST_CASE("hostile files: truncations, flipped counts, huge lengths, offsets past the end") {
    std::vector<uint8_t> good = r1test::small_model();
    std::vector<std::vector<uint8_t>> bad;
    // Truncation at every header boundary and at a few points inside the data.
    for (size_t cut : {size_t(0), size_t(3), size_t(4), size_t(8), size_t(16), size_t(23), size_t(24), size_t(32),
                       size_t(60), size_t(100), size_t(150), good.size() / 2, good.size() - 1})
        bad.emplace_back(good.begin(), good.begin() + long(std::min(cut, good.size() - 1)));
    auto patch64 = [&](size_t at, uint64_t v) {
        std::vector<uint8_t> b = good;
        std::memcpy(b.data() + at, &v, 8);
        bad.push_back(b);
    };
    patch64(8, ~uint64_t(0));         // tensor count
    patch64(8, 3);                    // one tensor too many
    patch64(16, uint64_t(1) << 50);   // metadata count
    patch64(16, 5);                   // one pair too many
    patch64(24, ~uint64_t(0) - 3);    // first key length
    patch64(24, 1000000);
    // The first tensor's offset (the last 8 bytes of its info, just before the second tensor's name length).
    std::unique_ptr<std::vector<uint8_t>> probe;
    {
        size_t name_at = 0;
        const std::string second = "output_norm.weight";
        for (size_t i = 0; i + second.size() < good.size(); ++i)
            if (std::memcmp(good.data() + i, second.data(), second.size()) == 0) { name_at = i; break; }
        REQUIRE(name_at > 16);
        patch64(name_at - 8 - 8, uint64_t(1) << 40);  // offset far past the end
        patch64(name_at - 8 - 8, 8);                  // misaligned
    }
    int index = 0;
    for (const auto& image : bad) {
        CAPTURE(index);
        std::string path = write_temp("cli-bad-" + std::to_string(index++) + ".gguf", image);
        Result r = run({"info", path});
        expect_clean_failure(r);
        unlink(path.c_str());
    }
    // Random corruption: every run either succeeds or fails cleanly.
    std::random_device rd;
    unsigned seed = rd();
    CAPTURE(seed);
    std::mt19937 rng(seed);
    for (int trial = 0; trial < 40; ++trial) {
        std::vector<uint8_t> image = good;
        for (int k = 0; k < 3; ++k) image[rng() % image.size()] = uint8_t(rng());
        std::string path = write_temp("cli-random.gguf", image);
        Result r = run({"info", path});
        CHECK(r.signal == 0);
        CHECK((r.exit_code == 0 || (r.exit_code == 1 && starts_with(r.err, "r1: error: "))));
    }
}

TEST_CASE("fixtures: info reports the right architecture, sizes and type mix for every model") {
    R1_REQUIRE_FIXTURES(dir);
    std::vector<std::string> names;
    if (DIR* d = opendir((dir + "/models").c_str())) {
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 5 && n.substr(n.size() - 5) == ".gguf") names.push_back(n.substr(0, n.size() - 5));
        }
        closedir(d);
    }
    REQUIRE(names.size() >= 20);
    for (const std::string& name : names) {
        CAPTURE(name);
        std::vector<unsigned char> meta_bytes;
        REQUIRE(r1test::read_file(dir + "/models/" + name + ".json", meta_bytes));
        nlohmann::json expected = nlohmann::json::parse(meta_bytes.begin(), meta_bytes.end());
        Result r = run({"info", "--json", dir + "/models/" + name + ".gguf"});
        REQUIRE(r.exit_code == 0);
        nlohmann::json got = nlohmann::json::parse(r.out);
        if (expected.contains("arch")) CHECK(got["architecture"] == expected["arch"]);
        if (expected.contains("size_bytes")) CHECK(got["file_size"] == expected["size_bytes"]);
        if (expected.contains("n_vocab")) CHECK(got["n_vocab"] == expected["n_vocab"]);
        if (expected.contains("tensor_types")) {
            auto& types = expected["tensor_types"];
            CHECK(got["tensors"].size() == types.size());
            for (auto& t : got["tensors"]) {
                std::string want = types[t["name"].get<std::string>()].get<std::string>();
                std::string have = t["type"].get<std::string>();
                for (auto& c : want) c = char(std::tolower(c));
                for (auto& c : have) c = char(std::tolower(c));
                CHECK_MESSAGE(have == want, t["name"]);
            }
        }
    }
}
