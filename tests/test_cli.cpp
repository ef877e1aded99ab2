// The r1 program: exit codes, messages and output, on good files, the fixtures and many hostile files.
#include <doctest/doctest.h>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
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

// ---------------------------------------------------------------------------------------------------------------
// Text, reference-check and generation commands on the fixtures
// ---------------------------------------------------------------------------------------------------------------

namespace {

// Runs the program with stdin from a file holding `input`.
Result run_with_input(const std::vector<std::string>& args, const std::string& input) {
    std::string in_path = r1test::temp_path("cli.in");
    REQUIRE(r1test::write_file(in_path, input.data(), input.size()));
    std::string out_path = r1test::temp_path("cli.out"), err_path = r1test::temp_path("cli.err");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> all = {R1_PROGRAM};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    pid_t pid;
    Result r;
    REQUIRE(posix_spawn(&pid, R1_PROGRAM, &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

std::string join_ids(const std::vector<int>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
    return s;
}

}  // namespace

TEST_CASE("tokenize and detokenize: golden ids from the command line") {
    R1_REQUIRE_FIXTURES(dir);
    const std::string vocab = dir + "/tokenizer/r1-distill-qwen.vocab.gguf";
    std::ifstream cases(dir + "/tokenizer/cases.jsonl");
    std::string line;
    int checked = 0;
    while (std::getline(cases, line) && checked < 12) {
        nlohmann::json c = nlohmann::json::parse(line);
        if (c["vocab"] != "r1-distill-qwen") continue;
        std::string text = c["text"];
        if (text.empty() || text.find('\0') != std::string::npos) continue;
        std::string path = write_temp("cli-text.txt", std::vector<uint8_t>(text.begin(), text.end()));
        std::vector<std::string> args = {"tokenize", "-m", vocab, "--ids", "--file", path};
        if (!c["add_bos"].get<bool>()) args.push_back("--no-bos");
        if (!c["parse_special"].get<bool>()) args.push_back("--no-special");
        Result r = run(args);
        REQUIRE(r.exit_code == 0);
        CHECK_MESSAGE(r.out == join_ids(c["ids"].get<std::vector<int>>()) + "\n", c["id"]);
        ++checked;
    }
    CHECK(checked == 12);
    Result r = run({"tokenize", "-m", vocab, "Hello world"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("'Hello'") != std::string::npos);
    r = run({"detokenize", "-m", vocab, "9707", "1879"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "Hello world\n");
    r = run({"detokenize", "-m", vocab, "151644,9707", "--special"});
    CHECK(r.out == "<｜User｜>Hello\n");
    expect_clean_failure(run({"detokenize", "-m", vocab, "999999"}));
    expect_clean_failure(run({"tokenize", "-m", dir + "/models/qwen2-tiny-F32.gguf.missing", "x"}));
}

TEST_CASE("template: renders every golden conversation byte for byte") {
    R1_REQUIRE_FIXTURES(dir);
    std::ifstream f(dir + "/templates/rendered.jsonl");
    std::string line;
    int checked = 0, skipped = 0;
    while (std::getline(f, line)) {
        nlohmann::json c = nlohmann::json::parse(line);
        // The CLI's messages are {role, content}; conversations with tool calls or null content need the C++ API.
        bool plain = true;
        for (auto& m : c["messages"]) plain = plain && m.contains("content") && m["content"].is_string() && m.size() == 2;
        if (!plain) {
            ++skipped;
            continue;
        }
        std::string messages = c["messages"].dump();
        std::string mpath = write_temp("cli-messages.json", std::vector<uint8_t>(messages.begin(), messages.end()));
        std::vector<std::string> args = {"template", "--template-file", dir + "/" + c["template_file"].get<std::string>(),
                                         "--messages", mpath, "--bos", c["bos_token"].get<std::string>()};
        if (!c["add_generation_prompt"].get<bool>()) args.push_back("--no-generation-prompt");
        if (!c["enable_thinking"].get<bool>()) args.push_back("--no-thinking");
        Result r = run(args);
        REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        CHECK_MESSAGE(r.out == c["rendered"].get<std::string>(), c["id"]);
        ++checked;
    }
    MESSAGE(checked << " conversations rendered through the CLI, " << skipped << " with tool calls left to the C++ tests");
    CHECK(checked >= 150);
    // The model's own template, and an unknown one.
    std::string one = R"([{"role": "user", "content": "Hello"}])";
    std::string mpath = write_temp("cli-one.json", std::vector<uint8_t>(one.begin(), one.end()));
    Result r = run({"template", "-m", dir + "/tokenizer/r1-distill-qwen.vocab.gguf", "--messages", mpath});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "<｜begin▁of▁sentence｜><｜User｜>Hello<｜Assistant｜><think>\n");
    std::string bogus = "{{ messages[0]['content'] | upper }}";
    std::string tpath = write_temp("cli-bogus.jinja", std::vector<uint8_t>(bogus.begin(), bogus.end()));
    expect_clean_failure(run({"template", "--template-file", tpath, "--messages", mpath}));
    std::string broken = "[{\"role\": ";
    std::string bpath = write_temp("cli-broken.json", std::vector<uint8_t>(broken.begin(), broken.end()));
    expect_clean_failure(run({"template", "--name", "r1-distill", "--messages", bpath}));
}

TEST_CASE("logits and generate: the reference checks through the command line") {
    R1_REQUIRE_FIXTURES(dir);
    const std::string model = dir + "/models/qwen2-tiny-F32.gguf";
    nlohmann::json meta = nlohmann::json::parse(std::ifstream(dir + "/models/qwen2-tiny-F32.json"));
    std::vector<int> prompt = meta["prompt"].get<std::vector<int>>();
    std::string list;
    for (size_t i = 0; i < prompt.size(); ++i) list += (i ? "," : "") + std::to_string(prompt[i]);
    std::string out = r1test::temp_path("cli-logits.f32");
    Result r = run({"logits", "-m", model, "--tokens", list, "--all", "--out", out, "--kv", "f32"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    std::vector<unsigned char> bytes, golden;
    REQUIRE(r1test::read_file(out, bytes));
    REQUIRE(r1test::read_file(dir + "/models/qwen2-tiny-F32.kvf32.logits.f32", golden));
    REQUIRE(bytes.size() == golden.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < bytes.size(); i += 4) {
        float a, b;
        std::memcpy(&a, &bytes[i], 4);
        std::memcpy(&b, &golden[i], 4);
        num += (double(a) - b) * (double(a) - b);
        den += double(b) * b;
    }
    CHECK(std::sqrt(num / den) <= 1e-3);
    r = run({"logits", "-m", model, "--tokens", list, "--text"});
    REQUIRE(r.exit_code == 0);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
    r = run({"generate", "-m", model, "--tokens", list, "-n", "32", "--greedy"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == join_ids(meta["greedy"].get<std::vector<int>>()) + "\n");
    expect_clean_failure(run({"logits", "-m", model, "--tokens", "1,2,99999"}));
    expect_clean_failure(run({"generate", "-m", model, "--tokens", "1", "-n", "3"}));  // --greedy is required
}

TEST_CASE("run, chat and bench on stories260K") {
    R1_REQUIRE_FIXTURES(dir);
    const std::string model = dir + "/models/stories260K.gguf";
    nlohmann::json meta = nlohmann::json::parse(std::ifstream(dir + "/models/stories260K.json"));
    const std::string golden = meta["greedy_text"];
    Result r = run({"run", "-m", model, "-p", "Once upon a time", "-n", "64", "--temp", "0"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == golden + "\n");
    CHECK(r.err.find("plain text completion") != std::string::npos);

    std::string state = r1test::temp_path("cli-chat.r1s");
    Result c = run_with_input({"chat", "-m", model, "-n", "8", "--temp", "0"},
                              "Once upon a time\n/save " + state + "\n/reset\n/load " + state + "\n/bogus\n/quit\n");
    REQUIRE_MESSAGE(c.exit_code == 0, c.err);
    CHECK(c.out.find(golden.substr(0, 10)) != std::string::npos);
    CHECK(c.err.find("saved to") != std::string::npos);
    CHECK(c.err.find("loaded from") != std::string::npos);
    CHECK(c.err.find("unknown command /bogus") != std::string::npos);

    Result b = run({"bench", "-m", model, "-p", "16", "-n", "8", "-r", "2", "--json"});
    REQUIRE_MESSAGE(b.exit_code == 0, b.err);
    nlohmann::json j = nlohmann::json::parse(b.out);
    REQUIRE(j.size() == 2);
    CHECK(j[0]["test"] == "pp16");
    CHECK(j[1]["test"] == "tg8");
    CHECK(j[0]["avg_ts"].get<double>() > 0);
    CHECK(j[1].contains("stddev_ts"));
    CHECK(j[1].contains("n_threads"));
    b = run({"bench", "-m", model, "-p", "16", "-n", "8", "-r", "2"});
    CHECK(b.exit_code == 0);
    CHECK(b.out.find("| tg8 ") != std::string::npos);
    CHECK(b.out.find("| pp16 ") != std::string::npos);
}

TEST_CASE("the Vulkan backend from the command line: --backend vulkan, --device, info --backends") {
#if !defined(R1_WITH_VULKAN)
    MESSAGE("SKIPPED: this build has no Vulkan backend");
#else
    // Lavapipe (Vulkan on the CPU) unless a real device is asked for, as in test_vulkan.
    const char* real = std::getenv("R1_VULKAN_TEST_REAL_DEVICE");
    if (!(real && *real && std::strcmp(real, "0") != 0)) {
        const char* lavapipe = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
        if (access(lavapipe, R_OK) == 0) setenv("VK_DRIVER_FILES", lavapipe, 0);
        setenv("MESA_SHADER_CACHE_DISABLE", "true", 0);
    }
    Result b = run({"info", "--backends"});
    REQUIRE_MESSAGE(b.exit_code == 0, b.err);
    CHECK(b.out.find("cpu ") != std::string::npos);
    const size_t at = b.out.find("vulkan ");
    REQUIRE_MESSAGE(at != std::string::npos, b.out);
    if (b.out.find("  device 0:", at) == std::string::npos) {
        MESSAGE("SKIPPED: no Vulkan device: " << b.out.substr(at));
        return;
    }
    const std::string model = std::string(R1_SOURCE_DIR) + "/models/r1-tiny.gguf";
    Result r = run({"run", "-m", model, "-p", "What is 1234 + 5678?", "--temp", "0", "--backend", "vulkan",
                    "--device", "0", "--stats"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == "6912\n");
    CHECK(r.err.find("prompt") != std::string::npos);

    Result j = run({"bench", "-m", model, "-p", "16", "-n", "8", "-r", "1", "--backend", "vulkan", "--json"});
    REQUIRE_MESSAGE(j.exit_code == 0, j.err);
    nlohmann::json rows = nlohmann::json::parse(j.out);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0]["backends"] == "vulkan");

    expect_clean_failure(run({"run", "-m", model, "-p", "hi", "--backend", "vulkan", "--device", "99"}));
    Result unknown = run({"run", "-m", model, "-p", "hi", "--backend", "metal"});
    expect_clean_failure(unknown);
    CHECK(unknown.err.find("metal") != std::string::npos);
#endif
}
