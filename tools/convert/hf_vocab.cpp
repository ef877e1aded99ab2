#include "hf_vocab.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "../../src/error.h"

namespace r1::convert {

using nlohmann::json;

namespace {

// The pre-tokenizer regexes as tokenizer.json stores them (after JSON unescaping).
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr const char* kR1Bos = "<｜begin▁of▁sentence｜>";

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// convert_hf_to_gguf.py's does_token_look_special.
bool looks_special(const std::string& t) {
    if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
    if (starts_with(t, "<|") && ends_with(t, "|>")) return true;
    if (starts_with(t, "<｜") && ends_with(t, "｜>")) return true;
    return starts_with(t, "<unused") && ends_with(t, ">");
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
    return s;
}

void collect_pre_tokenizers(const json& p, std::vector<const json*>& out) {
    if (!p.is_object()) return;
    if (p.value("type", "") == "Sequence" && p.contains("pretokenizers") && p["pretokenizers"].is_array()) {
        for (const json& q : p["pretokenizers"]) collect_pre_tokenizers(q, out);
    } else {
        out.push_back(&p);
    }
}

struct AddedToken {
    int64_t id;
    std::string content;
    bool special;
};

}  // namespace

const char* special_id_key(const std::string& type) {
    if (type == "bos") return "tokenizer.ggml.bos_token_id";
    if (type == "eos") return "tokenizer.ggml.eos_token_id";
    if (type == "unk") return "tokenizer.ggml.unknown_token_id";
    if (type == "sep") return "tokenizer.ggml.seperator_token_id";  // sic: the reference's spelling
    if (type == "pad") return "tokenizer.ggml.padding_token_id";
    if (type == "cls") return "tokenizer.ggml.cls_token_id";
    if (type == "mask") return "tokenizer.ggml.mask_token_id";
    return nullptr;
}

json read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(R1_ERR_IO, "%s: cannot open", path.c_str());
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        fail(R1_ERR_FORMAT, "%s: not valid JSON: %s", path.c_str(), e.what());
    }
}

std::string recognise_pre_tokenizer(const json& tj) {
    std::vector<const json*> parts;
    if (tj.contains("pre_tokenizer")) collect_pre_tokenizers(tj["pre_tokenizer"], parts);
    std::string found;
    bool byte_level_regex = false;
    for (const json* p : parts) {
        const std::string type = p->value("type", "");
        if (type == "Split" && p->contains("pattern") && (*p)["pattern"].is_object()) {
            const json& pat = (*p)["pattern"];
            const std::string regex = pat.contains("Regex") && pat["Regex"].is_string() ? pat["Regex"].get<std::string>()
                                      : pat.contains("String") && pat["String"].is_string()
                                          ? "string " + pat["String"].get<std::string>()
                                          : std::string("?");
            if (regex == kQwen2Regex) {
                bool r1 = false;
                if (tj.contains("added_tokens") && tj["added_tokens"].is_array())
                    for (const json& a : tj["added_tokens"])
                        if (a.is_object() && a.value("content", "") == kR1Bos) r1 = true;
                return r1 ? "deepseek-r1-qwen" : "qwen2";
            }
            if (regex == kLlama3Regex) return "llama-bpe";
            found += (found.empty() ? "" : ", ") + std::string("Split regex ") + regex;
        } else if (type == "ByteLevel") {
            byte_level_regex = p->value("use_regex", true);
        } else if (!type.empty()) {
            found += (found.empty() ? "" : ", ") + type;
        }
    }
    if (found.empty() && byte_level_regex) return "gpt-2";
    fail(R1_ERR_UNSUPPORTED,
         "tokenizer.json: unrecognised pre-tokenizer (%s); supported: the qwen2 / deepseek-r1-qwen and Llama 3 "
         "(llama-bpe) Split regexes, GPT-2 byte-level",
         found.empty() ? "none" : found.c_str());
}

HfVocab load_hf_vocab(const std::string& folder, int64_t n_vocab) {
    const std::string tokenizer_path = folder + "/tokenizer.json";
    {
        std::ifstream probe(tokenizer_path);
        if (!probe) fail(R1_ERR_NOT_FOUND, "%s: no tokenizer.json (only Hugging Face fast tokenizers are supported)",
                         folder.c_str());
    }
    const json tj = read_json_file(tokenizer_path);
    if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object())
        fail(R1_ERR_FORMAT, "%s: no \"model\" object", tokenizer_path.c_str());
    const json& model = tj["model"];
    if (model.value("type", "") != "BPE")
        fail(R1_ERR_UNSUPPORTED, "%s: tokenizer model type '%s'; only byte-level BPE is supported",
             tokenizer_path.c_str(), model.value("type", "").c_str());
    if (model.contains("byte_fallback") && model["byte_fallback"].is_boolean() && model["byte_fallback"].get<bool>())
        fail(R1_ERR_UNSUPPORTED, "%s: a BPE model with byte fallback (SentencePiece style) is not supported",
             tokenizer_path.c_str());
    if (!model.contains("vocab") || !model["vocab"].is_object())
        fail(R1_ERR_FORMAT, "%s: model.vocab is not an object", tokenizer_path.c_str());

    HfVocab v;
    v.pre = recognise_pre_tokenizer(tj);

    // get_vocab(): the model's vocabulary plus the added tokens.
    std::map<std::string, int64_t> vocab;
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
        if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
            fail(R1_ERR_FORMAT, "%s: token '%s' has a bad id", tokenizer_path.c_str(), it.key().c_str());
        vocab[it.key()] = it.value().get<int64_t>();
    }
    std::vector<AddedToken> added;
    if (tj.contains("added_tokens")) {
        if (!tj["added_tokens"].is_array()) fail(R1_ERR_FORMAT, "%s: added_tokens is not an array", tokenizer_path.c_str());
        for (const json& a : tj["added_tokens"]) {
            if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || a["id"].get<int64_t>() < 0 ||
                !a.contains("content") || !a["content"].is_string())
                fail(R1_ERR_FORMAT, "%s: an added token lacks a valid id or content", tokenizer_path.c_str());
            added.push_back({a["id"].get<int64_t>(), a["content"].get<std::string>(), a.value("special", false)});
            vocab[added.back().content] = added.back().id;
        }
    }
    int64_t max_id = -1;
    for (const auto& kv : vocab) max_id = std::max(max_id, kv.second);
    if (n_vocab <= 0) n_vocab = int64_t(vocab.size());
    if (max_id >= n_vocab)
        fail(R1_ERR_FORMAT, "%s: token id %lld is not below the vocabulary size %lld", tokenizer_path.c_str(),
             (long long)max_id, (long long)n_vocab);
    if (n_vocab > (int64_t(1) << 24)) fail(R1_ERR_FORMAT, "vocabulary size %lld is too large", (long long)n_vocab);

    std::vector<const std::string*> reverse(size_t(n_vocab), nullptr);
    for (const auto& kv : vocab) reverse[size_t(kv.second)] = &kv.first;
    std::unordered_map<std::string, const AddedToken*> added_by_content;
    std::unordered_map<int64_t, const AddedToken*> added_by_id;
    for (const AddedToken& a : added) {
        added_by_content[a.content] = &a;
        added_by_id[a.id] = &a;
    }
    v.tokens.reserve(size_t(n_vocab));
    v.types.reserve(size_t(n_vocab));
    for (int64_t i = 0; i < n_vocab; ++i) {
        if (!reverse[size_t(i)]) {
            v.tokens.push_back("[PAD" + std::to_string(i) + "]");
            v.types.push_back(kUnused);
            continue;
        }
        std::string token = *reverse[size_t(i)];
        auto a = added_by_content.find(token);
        if (a != added_by_content.end()) {
            auto by_id = added_by_id.find(i);
            const AddedToken* rec = by_id != added_by_id.end() ? by_id->second : a->second;
            if (rec->special || looks_special(token)) {
                v.types.push_back(kControl);
            } else {
                token = replace_all(token, "▁", " ");  // pre-normalized user-defined spaces
                v.types.push_back(kUserDefined);
            }
        } else {
            v.types.push_back(kNormal);
        }
        v.tokens.push_back(std::move(token));
    }

    // Merges: "a b" strings, or [a, b] pairs (transformers >= 4.45), spaces inside a part written as U+0120.
    if (model.contains("merges") && model["merges"].is_array()) {
        for (const json& m : model["merges"]) {
            if (m.is_string()) {
                v.merges.push_back(m.get<std::string>());
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                v.merges.push_back(replace_all(m[0].get<std::string>(), " ", "Ġ") + " " +
                                   replace_all(m[1].get<std::string>(), " ", "Ġ"));
            } else {
                fail(R1_ERR_FORMAT, "%s: unknown merges format", tokenizer_path.c_str());
            }
        }
    }
    if (v.merges.empty()) fail(R1_ERR_FORMAT, "%s: the BPE model has no merges", tokenizer_path.c_str());

    // Special tokens and flags (gguf-py SpecialVocab): tokenizer_config.json first, then config.json.
    static const char* kTypes[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
    auto set_special = [&](const std::string& type, int64_t id) {
        if (id < 0 || id >= n_vocab) return;
        for (const auto& s : v.special_ids)
            if (s.first == type) return;
        v.special_ids.push_back({type, uint32_t(id)});
    };
    json tc = json::object();
    const std::string tc_path = folder + "/tokenizer_config.json";
    if (std::ifstream(tc_path)) tc = read_json_file(tc_path);
    if (!tc.is_object()) fail(R1_ERR_FORMAT, "%s: not a JSON object", tc_path.c_str());
    for (const char* type : kTypes) {
        const std::string t = type;
        if (tc.contains("add_" + t + "_token") && tc["add_" + t + "_token"].is_boolean() &&
            (t == "bos" || t == "eos" || t == "sep"))
            v.add_special.push_back({t, tc["add_" + t + "_token"].get<bool>()});
        if (!tc.contains(t + "_token")) continue;
        const json& e = tc[t + "_token"];
        std::string content;
        if (e.is_string()) content = e.get<std::string>();
        else if (e.is_object() && e.contains("content") && e["content"].is_string()) content = e["content"].get<std::string>();
        else continue;
        for (const AddedToken& a : added)
            if (a.content == content) {
                set_special(t, a.id);
                break;
            }
    }
    const std::string config_path = folder + "/config.json";
    if (std::ifstream(config_path)) {
        const json config = read_json_file(config_path);
        for (const char* type : kTypes) {
            const std::string key = std::string(type) + "_token_id";
            if (config.is_object() && config.contains(key) && config[key].is_number_integer())
                set_special(type, config[key].get<int64_t>());
        }
    }

    // Chat template: tokenizer_config.json, else chat_template.jinja, else chat_template.json.
    json template_value;
    if (tc.contains("chat_template")) {
        template_value = tc["chat_template"];
    } else if (std::ifstream jinja{folder + "/chat_template.jinja", std::ios::binary}) {
        std::stringstream ss;
        ss << jinja.rdbuf();
        template_value = ss.str();
    } else if (std::ifstream(folder + "/chat_template.json")) {
        const json ct = read_json_file(folder + "/chat_template.json");
        if (ct.is_object() && ct.contains("chat_template")) template_value = ct["chat_template"];
    }
    if (template_value.is_string()) {
        v.chat_templates.push_back({"", template_value.get<std::string>()});
    } else if (template_value.is_array()) {
        for (const json& c : template_value) {
            if (!c.is_object() || !c.contains("template") || !c["template"].is_string()) continue;
            std::string name = c.value("name", "");
            for (char& ch : name)
                if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
            if (name.empty()) continue;
            v.chat_templates.push_back({name == "default" ? "" : name, c["template"].get<std::string>()});
        }
    }
    return v;
}

}  // namespace r1::convert
