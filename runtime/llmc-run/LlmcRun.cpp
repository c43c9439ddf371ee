//===- LlmcRun.cpp - using an artifact: run, chat, tokenize, inspect, ppl -===//
//
// The subcommands that need only the runtime. Output goes through stdio:
// generated text (or ids) on stdout as it comes, summaries and errors on
// stderr, so `llmc run ... > out` captures just the model's output.
//
//===----------------------------------------------------------------------===//

#include "runtime/llmc-run/LlmcRun.h"

#include "runtime/include/llmc.h"
#include "runtime/include/llmc_sampler.h"
#include "runtime/include/llmc_tokenizer.h"
#include "runtime/include/llmc_tokenizer_format.h"
#include "runtime/llmc-run/Args.h"
#include "targets/presets/Presets.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llmc::run {
namespace {

const char *gTool = "llmc";

__attribute__((format(printf, 1, 2))) void error(const char *fmt, ...) {
  std::fprintf(stderr, "%s: error: ", gTool);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

__attribute__((format(printf, 1, 2))) void warning(const char *fmt, ...) {
  std::fprintf(stderr, "%s: warning: ", gTool);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

/// Prints a runtime failure and returns the exit code.
int runtimeError(const char *what, llmc_status st) {
  // The runtime's message names the file itself when it is about one.
  std::string detail = llmc_last_error();
  // The runtime keeps its messages short; the tool adds the way out.
  if (st == LLMC_ERR_WRONG_TARGET && detail.find("format 'msl'") != std::string::npos)
    detail += "; Metal runs on Apple platforms (here: llmc-msl-run)";
  else if (st == LLMC_ERR_WRONG_TARGET && detail.find("format 'opencl-c'") != std::string::npos)
    detail += "; this runtime was built without OpenCL";
  else if (st == LLMC_ERR_WRONG_TARGET && detail.find("format 'spirv'") != std::string::npos)
    detail += "; this runtime was built without Vulkan";
  // The message names the file or the status itself when it can; never
  // twice ("decode: context full: context full: ...").
  const char *status = llmc_status_string(st);
  if (!std::strncmp(detail.c_str(), what, std::strlen(what)))
    error("%s (%s)", detail.c_str(), status);
  else if (!std::strncmp(detail.c_str(), status, std::strlen(status)))
    error("%s: %s", what, detail.c_str());
  else
    error("%s: %s: %s", what, status, detail.c_str());
  return 1;
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

/// Parses a subcommand's flags: -1 to go on, else the exit code.
int parseFlags(Command &cmd, int argc, char **argv) {
  return parseSubcommand(cmd, argc, argv, gTool);
}

//===----------------------------------------------------------------------===//
// Flags shared by the subcommands that run the model
//===----------------------------------------------------------------------===//

struct ContextFlags {
  int64_t threads = 0;
  double kvMaxMB = 0;
  std::string cacheDir;
  void add(Command &c) {
    c.options.push_back(opt("cache-dir", Option::Text, &cacheDir, "DIR",
                            "GPU artifacts (OpenCL): keep the kernels the "
                            "driver compiles in this existing directory, so "
                            "the next run skips the compile (default: none)"));
    c.options.push_back(opt("threads", Option::Int, &threads, "N",
                            "CPU threads running the kernels (0 = all cores)",
                            0, 1024));
    c.options.push_back(
        opt("kv-max-mb", Option::Float, &kvMaxMB, "MB",
            "Cap on the KV cache's memory (0 = none): the context holds at "
            "most that many MB of positions, then reports it is full",
            0));
  }
  uint64_t kvCapBytes() const {
    return kvMaxMB > 0 ? uint64_t(kvMaxMB * 1e6) : 0;
  }
};

struct SamplingFlags {
  double temp = 0, topP = 1, minP = 0, repeat = 1;
  int64_t topK = 0, seed = 0, repeatLastN = 64;
  std::vector<std::string> stop;
  void add(Command &c) {
    c.options.push_back(opt("temp", Option::Float, &temp, "T",
                            "Temperature (0 = greedy)", 0));
    c.options.push_back(opt("top-k", Option::Int, &topK, "K",
                            "Keep the k most likely tokens (0 = off)", 0,
                            INT_MAX));
    c.options.push_back(opt("top-p", Option::Float, &topP, "P",
                            "Nucleus sampling mass (1 = off)", 0, 1));
    c.options.push_back(opt("min-p", Option::Float, &minP, "P",
                            "Drop tokens below min-p x the best (0 = off)", 0,
                            1));
    c.options.push_back(opt("repeat-penalty", Option::Float, &repeat, "R",
                            "Repetition penalty as in transformers (1 = off)",
                            1e-6));
    c.options.push_back(opt("repeat-last-n", Option::Int, &repeatLastN, "N",
                            "Tokens the repetition penalty looks back over "
                            "(-1 = all; llama.cpp's window)",
                            -1, INT32_MAX));
    c.options.push_back(opt("seed", Option::Int, &seed, "N", "Sampler seed", 0));
    c.options.push_back(opt("stop", Option::TextList, &stop, "text",
                            "Stop when the output contains this text "
                            "(repeatable)"));
  }
  bool init(llmc_sampler &s) const {
    llmc_sampler_params p = llmc_sampler_default_params();
    p.temperature = (float)temp;
    p.top_k = (int32_t)topK;
    p.top_p = (float)topP;
    p.min_p = (float)minP;
    p.repetition_penalty = (float)repeat;
    p.repeat_last_n = (int32_t)repeatLastN;
    p.seed = (uint64_t)seed;
    if (topP <= 0) {
      error("--top-p must be in (0, 1], not 0");
      return false;
    }
    if (llmc_sampler_init(&s, &p) != LLMC_OK) {
      error("%s", llmc_last_error());
      return false;
    }
    return true;
  }
};

/// An open model and context, closed on destruction.
struct Session {
  llmc_model *model = nullptr;
  llmc_context *ctx = nullptr;
  llmc_model_info info{};
  const llmc_tokenizer *tok = nullptr;
  ~Session() {
    llmc_context_free(ctx);
    llmc_model_close(model);
  }
  /// Positions the context holds (--ctx, --kv-max-mb, or the compiled max).
  int64_t nCtx() const {
    int64_t n = info.max_context;
    if (ctx)
      llmc_context_get_n_ctx(ctx, &n);
    return n;
  }
  /// Opens `path` and a context of `nCtx` positions (nCtx < 0: the model
  /// without its code and no context); prints the error.
  bool open(const std::string &path, int64_t nCtx, bool needTokenizer,
            const ContextFlags &flags, uint32_t contextFlags = 0) {
    llmc_open_params openParams = {};
    openParams.flags = nCtx < 0 ? (uint32_t)LLMC_OPEN_METADATA_ONLY : 0u;
    openParams.cache_dir = flags.cacheDir.empty() ? nullptr : flags.cacheDir.c_str();
    if (llmc_status st =
            llmc_model_open_with_params(path.c_str(), &openParams, &model)) {
      runtimeError(path.c_str(), st);
      return false;
    }
    llmc_model_get_info(model, &info);
    // No tokenizer is not an error (--tokens works); a broken one is.
    if (llmc_status st = llmc_model_get_tokenizer(model, &tok)) {
      tok = nullptr;
      if (st != LLMC_ERR_UNSUPPORTED) {
        runtimeError(path.c_str(), st);
        return false;
      }
    }
    if (needTokenizer && !tok) {
      error("%s: the artifact has no tokenizer (build from a checkpoint with "
            "tokenizer.json, or use --tokens)",
            path.c_str());
      return false;
    }
    if (nCtx < 0)
      return true;
    llmc_context_params params = {(int32_t)nCtx, contextFlags,
                                  (int32_t)flags.threads, flags.kvCapBytes()};
    if (llmc_status st = llmc_context_create(model, &params, &ctx)) {
      runtimeError("creating a context", st);
      return false;
    }
    return true;
  }
  bool isStop(int32_t t) const {
    for (int i = 0; i < info.num_eos_tokens; ++i)
      if (info.eos_token_ids[i] == t)
        return true;
    return tok && (t == llmc_tokenizer_eot(tok) || t == llmc_tokenizer_eos(tok));
  }
};

/// The ids of `text`; false (after printing why) if the tokenizer failed.
bool encode(const llmc_tokenizer *tok, const std::string &text,
            bool parseSpecial, bool bos, std::vector<int32_t> &ids) {
  ids.resize(text.size() + 8);
  size_t n = 0;
  llmc_status st = llmc_tokenize(tok, text.data(), text.size(), parseSpecial,
                                 bos, ids.data(), ids.size(), &n);
  if (st == LLMC_ERR_BUFFER_TOO_SMALL) {
    ids.resize(n);
    st = llmc_tokenize(tok, text.data(), text.size(), parseSpecial, bos,
                       ids.data(), ids.size(), &n);
  }
  if (st != LLMC_OK) {
    ids.clear();
    runtimeError("tokenize", st);
    return false;
  }
  ids.resize(n);
  return true;
}

/// Why generation stopped.
enum class StopReason { Eos, MaxNew, StopString, ContextFull, Error };

struct GenerateResult {
  StopReason reason = StopReason::MaxNew;
  int64_t generated = 0;
  double decodeSecs = 0;
  std::string text;
  /// Every sampled id, in order; the last is in the cache unless `unfed`.
  std::vector<int32_t> tokens;
  /// The last sampled id was not decoded into the cache (max-new, a stop
  /// string, or a full context).
  bool unfed = false;
};

/// Generates after the logits already in `s.ctx`: samples, streams text (or
/// ids), decodes each token into the cache. A stop token is decoded too, so
/// the cache holds the whole turn (what the next chat turn continues from).
/// maxNew < 0: until a stop token or a full context.
GenerateResult generate(Session &s, llmc_sampler &sampler, int64_t maxNew,
                        const std::vector<std::string> &stopStrings,
                        std::vector<int32_t> &history, bool textOut,
                        FILE *logitsOut, bool stopAtEos) {
  GenerateResult r;
  if (maxNew < 0)
    maxNew = INT64_MAX;
  std::vector<llmc_sampler_candidate> scratch(s.info.vocab_size);
  llmc_detok_stream stream{};
  // Big enough for any token plus held-back bytes: no text is ever dropped.
  std::vector<char> buf(
      s.tok ? LLMC_DETOK_STREAM_BOUND(llmc_tokenizer_max_token_bytes(s.tok)) : 64);
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < maxNew; ++step) {
    const float *logits = nullptr;
    if (llmc_status st = llmc_get_logits(s.ctx, &logits)) {
      runtimeError("logits", st);
      r.reason = StopReason::Error;
      break;
    }
    if (logitsOut &&
        std::fwrite(logits, sizeof(float), s.info.vocab_size, logitsOut) !=
            (size_t)s.info.vocab_size) {
      error("writing the logits: %s", std::strerror(errno));
      r.reason = StopReason::Error;
      break;
    }
    int32_t id = -1;
    if (llmc_status st = llmc_sampler_sample(&sampler, logits, s.info.vocab_size,
                                             history.data(), history.size(),
                                             scratch.data(), &id)) {
      runtimeError("sampling", st);
      r.reason = StopReason::Error;
      break;
    }
    history.push_back(id);
    r.tokens.push_back(id);
    r.unfed = true;
    ++r.generated;
    bool stop = stopAtEos && s.isStop(id);
    if (textOut && !stop) {
      size_t written = 0;
      if (llmc_detok_stream_push(s.tok, &stream, id, buf.data(), buf.size(),
                                 &written) == LLMC_OK && written) {
        std::fwrite(buf.data(), 1, written, stdout);
        std::fflush(stdout);
        r.text.append(buf.data(), written);
      }
    } else if (!textOut) {
      std::printf(step ? ",%d" : "%d", id);
      std::fflush(stdout);
    }
    if (textOut)
      for (const std::string &stopStr : stopStrings)
        if (!stopStr.empty() && r.text.find(stopStr) != std::string::npos)
          r.reason = StopReason::StopString;
    // The last token is fed only if a later turn may continue from it.
    bool last = step + 1 == maxNew || stop || r.reason == StopReason::StopString;
    if (last && !stop) {
      if (r.reason != StopReason::StopString)
        r.reason = StopReason::MaxNew;
      break;
    }
    if (llmc_status st = llmc_decode(s.ctx, id)) {
      if (st == LLMC_ERR_CONTEXT_FULL) {
        r.reason = StopReason::ContextFull;
      } else {
        runtimeError("decode", st);
        r.reason = StopReason::Error;
      }
      break;
    }
    r.unfed = false;
    if (stop) {
      r.reason = StopReason::Eos;
      break;
    }
  }
  if (textOut) {
    size_t written = 0;
    if (llmc_detok_stream_flush(&stream, buf.data(), buf.size(), &written) ==
            LLMC_OK && written) {
      std::fwrite(buf.data(), 1, written, stdout);
      r.text.append(buf.data(), written);
    }
  }
  r.decodeSecs = secondsSince(t0);
  return r;
}

//===----------------------------------------------------------------------===//
// run
//===----------------------------------------------------------------------===//

int cmdRun(int argc, char **argv) {
  std::string artifact, prompt, dumpLogits;
  std::vector<int64_t> tokens;
  int64_t maxNew = 32, ctxSize = 0;
  bool ignoreEos = false;
  ContextFlags cf;
  SamplingFlags sf;
  Command cmd{"run",
              "generate with an artifact from a text prompt (-p) or token ids "
              "(--tokens)",
              {{"<model.llmc>", &artifact, true}},
              {}};
  cmd.options.push_back(opt("p", Option::Text, &prompt, "text",
                            "Prompt text (needs a tokenizer in the artifact)"));
  cmd.options.push_back(opt("tokens", Option::IntList, &tokens, "ids",
                            "Prompt token ids, comma-separated", 0, INT32_MAX));
  cmd.options.push_back(opt("max-new", Option::Int, &maxNew, "N",
                            "Tokens to generate (-1 = until end of sequence "
                            "or a full context)",
                            -1, INT32_MAX));
  cmd.options.push_back(opt("ctx", Option::Int, &ctxSize, "N",
                            "Context size in positions (0 = the compiled "
                            "maximum)",
                            0, INT32_MAX));
  cmd.options.push_back(opt("ignore-eos", Option::Flag, &ignoreEos, "",
                            "Keep generating after an end-of-sequence id"));
  cmd.options.push_back(opt("dump-logits", Option::Text, &dumpLogits, "file",
                            "Write the logits of every generated step (f32, "
                            "little-endian, vocab floats per step)"));
  sf.add(cmd);
  cf.add(cmd);
  cmd.example = "llmc run model.llmc -p \"And God said\" --max-new 64 --temp 0.8 --top-k 40";
  if (int rc = parseFlags(cmd, argc, argv); rc >= 0)
    return rc;
  bool textMode = cmd.options[0].given;
  if (textMode == !tokens.empty()) {
    error("give exactly one of -p TEXT or --tokens IDS");
    return 1;
  }
  llmc_sampler sampler;
  if (!sf.init(sampler))
    return 1;
  Session s;
  if (!s.open(artifact, ctxSize, textMode, cf))
    return 1;
  std::vector<int32_t> ids(tokens.begin(), tokens.end());
  if (textMode && !encode(s.tok, prompt, /*parseSpecial=*/true, /*bos=*/true, ids))
    return 1;
  std::unique_ptr<FILE, int (*)(FILE *)> logitsOut(nullptr, &std::fclose);
  std::string logitsTmp = dumpLogits + ".tmp";
  if (!dumpLogits.empty()) {
    logitsOut.reset(std::fopen(logitsTmp.c_str(), "wb"));
    if (!logitsOut) {
      error("%s: %s", dumpLogits.c_str(), std::strerror(errno));
      return 1;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  if (llmc_status st = llmc_prefill(s.ctx, ids.data(), ids.size()))
    return runtimeError("prefill", st);
  double prefillSecs = secondsSince(t0);
  if (textMode) {
    std::fputs(prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  std::vector<int32_t> history = ids;
  GenerateResult r = generate(s, sampler, maxNew, sf.stop, history, textMode,
                              logitsOut.get(), !ignoreEos);
  std::fputc('\n', stdout);
  std::fflush(stdout); // the text, then the summary on stderr
  if (logitsOut) {
    bool ok = std::fclose(logitsOut.release()) == 0;
    if (!ok || r.reason == StopReason::Error ||
        std::rename(logitsTmp.c_str(), dumpLogits.c_str()) != 0) {
      if (ok && r.reason != StopReason::Error)
        error("%s: %s", dumpLogits.c_str(), std::strerror(errno));
      std::remove(logitsTmp.c_str());
      return 1;
    }
  }
  if (r.reason == StopReason::Error)
    return 1;
  if (r.reason == StopReason::ContextFull)
    warning("context full (%lld positions) after %lld generated tokens",
            (long long)s.nCtx(), (long long)r.generated);
  int64_t decoded = std::max<int64_t>(0, r.generated - 1);
  int32_t threads = 0;
  llmc_context_get_threads(s.ctx, &threads);
  std::string where = std::string(s.info.hal) == "cpu"
                          ? std::to_string(threads) + " threads"
                          : std::string(s.info.device);
  std::fprintf(stderr,
               "%s: prefill %zu tokens in %.4f s (%.1f tok/s), decode %lld "
               "tokens in %.4f s (%.1f tok/s), %s\n",
               gTool, ids.size(), prefillSecs,
               prefillSecs > 0 ? ids.size() / prefillSecs : 0.0,
               (long long)decoded, r.decodeSecs,
               r.decodeSecs > 0 ? decoded / r.decodeSecs : 0.0, where.c_str());
  return 0;
}

//===----------------------------------------------------------------------===//
// chat
//===----------------------------------------------------------------------===//

// Input bounds: a chat message is at most kMaxChatLine bytes (the rest of a
// longer line is dropped, the chat goes on); perplexity reads at most
// kMaxTextFile bytes of text. Memory stays bounded whatever stdin or the
// file is (/dev/zero included).
constexpr size_t kMaxChatLine = size_t(1) << 20;
constexpr size_t kMaxTextFile = size_t(256) << 20;

enum class LineRead { Line, End, TooLong, Binary };

// One line of stdin without its newline, at most kMaxChatLine bytes; a NUL
// byte means the input is not text.
LineRead readChatLine(std::string &line) {
  line.clear();
  int ch;
  while ((ch = std::getchar()) != EOF && ch != '\n') {
    if (ch == 0)
      return LineRead::Binary;
    if (line.size() == kMaxChatLine) {
      while ((ch = std::getchar()) != EOF && ch != '\n')
        if (ch == 0)
          return LineRead::Binary;
      return LineRead::TooLong;
    }
    line.push_back(char(ch));
  }
  return ch == EOF && line.empty() ? LineRead::End : LineRead::Line;
}

/// Jinja's `| trim` (Python's str.strip) on ASCII whitespace.
std::string trim(const std::string &text) {
  const char *ws = " \t\n\r\f\v";
  size_t first = text.find_first_not_of(ws);
  if (first == std::string::npos)
    return "";
  return text.substr(first, text.find_last_not_of(ws) - first + 1);
}

/// A chat's token history, kept so that a full context can be shifted: the
/// system prompt stays, the oldest turns go, and what is kept is prefilled
/// again (llama.cpp's context shift, done by re-prefilling rather than by
/// rotating the cached keys).
struct ChatState {
  std::vector<int32_t> prefix;             ///< BOS and the system turn
  std::vector<std::vector<int32_t>> turns; ///< finished turns, oldest first
  size_t cached() const {
    size_t n = prefix.size();
    for (const auto &t : turns)
      n += t.size();
    return n;
  }
};

/// Makes room for `current` (the turn in progress, not yet in the cache)
/// plus `room` more positions: drops the oldest turns, resets the context
/// and prefills the prefix, the kept turns and `current`. False (the chat
/// unchanged) if even the prefix and `current` leave no room.
bool shiftContext(Session &s, ChatState &chat, const std::vector<int32_t> &current,
                  size_t room, bool &error) {
  error = false;
  size_t nCtx = (size_t)s.nCtx();
  if (chat.prefix.size() + current.size() + 1 > nCtx)
    return false;
  size_t total = chat.cached() + current.size(), dropped = 0;
  while (!chat.turns.empty() && total + room > nCtx) {
    total -= chat.turns.front().size();
    chat.turns.erase(chat.turns.begin());
    ++dropped;
  }
  std::vector<int32_t> all = chat.prefix;
  for (const auto &t : chat.turns)
    all.insert(all.end(), t.begin(), t.end());
  all.insert(all.end(), current.begin(), current.end());
  llmc_reset(s.ctx);
  if (llmc_status st = llmc_prefill(s.ctx, all.data(), (int64_t)all.size())) {
    runtimeError("prefill", st);
    error = true;
    return false;
  }
  std::fprintf(stderr,
               "\n%s: the context is full: dropped the %zu oldest turn%s, "
               "kept %zu of %zu positions (system prompt and %zu recent "
               "turn%s)\n",
               gTool, dropped, dropped == 1 ? "" : "s", all.size(), nCtx,
               chat.turns.size(), chat.turns.size() == 1 ? "" : "s");
  return true;
}

int cmdChat(int argc, char **argv) {
  std::string artifact, system;
  int64_t maxNew = 256, ctxSize = 0;
  ContextFlags cf;
  SamplingFlags sf;
  Command cmd{"chat",
              "interactive chat in the Llama 3 chat format: the KV cache "
              "carries over between turns, and a full context drops the "
              "oldest turns (the system prompt stays); a message is one line "
              "of at most 1 MiB, taken as plain text; /reset starts over, "
              "/quit (or an empty line, or Ctrl-D) ends",
              {{"<model.llmc>", &artifact, true}},
              {}};
  cmd.options.push_back(opt("system", Option::Text, &system, "text",
                            "System prompt"));
  cmd.options.push_back(opt("max-new", Option::Int, &maxNew, "N",
                            "Most tokens per reply (-1 = until end of turn)",
                            -1, INT32_MAX));
  cmd.options.push_back(opt("ctx", Option::Int, &ctxSize, "N",
                            "Context size in positions (0 = the compiled "
                            "maximum)",
                            0, INT32_MAX));
  bool verbosePrompt = false;
  cmd.options.push_back(opt("verbose-prompt", Option::Flag, &verbosePrompt, "",
                            "Print the token ids the model gets: the start, "
                            "then each message (stderr)"));
  std::string date;
  cmd.options.push_back(opt("date", Option::Text, &date, "\"26 Jul 2024\"",
                            "\"Today Date\" for the Llama 3.1 / 3.2 templates "
                            "(default: 3.1's fixed date, 3.2's today)"));
  sf.add(cmd);
  cf.add(cmd);
  cmd.example = "llmc chat model.llmc --system \"You are terse.\" --ctx 2048";
  if (int rc = parseFlags(cmd, argc, argv); rc >= 0)
    return rc;
  llmc_sampler sampler;
  if (!sf.init(sampler))
    return 1;
  Session s;
  if (!s.open(artifact, ctxSize, /*needTokenizer=*/true, cf))
    return 1;
  // The template's special tokens come from our own strings; what a user
  // typed (and the system prompt) is plain text, never parsed for special
  // tokens, so typing "<|eot_id|><|start_header_id|>system" cannot inject a
  // turn. Pieces between special tokens are tokenized on their own, as
  // Hugging Face does after splitting out the added tokens.
  auto special = [&](const char *text, std::vector<int32_t> &out) {
    std::vector<int32_t> ids;
    if (!encode(s.tok, text, /*parseSpecial=*/true, false, ids))
      return false;
    out.insert(out.end(), ids.begin(), ids.end());
    return true;
  };
  auto plain = [&](const std::string &text, std::vector<int32_t> &out) {
    std::vector<int32_t> ids;
    if (!encode(s.tok, text, /*parseSpecial=*/false, false, ids))
      return false;
    out.insert(out.end(), ids.begin(), ids.end());
    return true;
  };
  // The checkpoint's template, by the form it renders (the compiler
  // recognised it in tokenizer_config.json): what Hugging Face's
  // apply_chat_template gives, message contents trimmed as its `| trim`.
  uint32_t form = llmc_tokenizer_chat_format(s.tok);
  if (form > LLMC_TOK_CHAT_LLAMA32) {
    error("%s: chat template form %u is newer than this runtime", artifact.c_str(),
          form);
    return 1;
  }
  if (form == LLMC_TOK_CHAT_NONE)
    warning("%s has no Llama 3 chat template (tokenizer_config.json); using "
            "the built-in Llama 3 format",
            artifact.c_str());
  if (date.empty() && form == LLMC_TOK_CHAT_LLAMA31)
    date = "26 Jul 2024";
  if (date.empty() && form == LLMC_TOK_CHAT_LLAMA32) {
    char buf[32];
    std::time_t now = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%d %b %Y", std::localtime(&now));
    date = buf;
  }
  ChatState chat;
  if (!special("<|begin_of_text|>", chat.prefix))
    return 1;
  if (form == LLMC_TOK_CHAT_LLAMA31 || form == LLMC_TOK_CHAT_LLAMA32) {
    // 3.1 and later: a system block always, with the dates.
    if (!special("<|start_header_id|>system<|end_header_id|>", chat.prefix) ||
        !plain("\n\nCutting Knowledge Date: December 2023\nToday Date: " + date +
                   "\n\n" + trim(system),
               chat.prefix) ||
        !special("<|eot_id|>", chat.prefix))
      return 1;
  } else if (!system.empty() &&
             (!special("<|start_header_id|>system<|end_header_id|>", chat.prefix) ||
              !plain("\n\n" + trim(system), chat.prefix) ||
              !special("<|eot_id|>", chat.prefix))) {
    return 1;
  }
  if (verbosePrompt) {
    std::fprintf(stderr, "%s: start ids:", gTool);
    for (int32_t id : chat.prefix)
      std::fprintf(stderr, " %d", id);
    std::fputc('\n', stderr);
  }
  const size_t nCtx = (size_t)s.nCtx();
  if (chat.prefix.size() + 8 > nCtx) {
    error("the system prompt takes %zu of the context's %zu positions; give a "
          "larger --ctx or a shorter prompt",
          chat.prefix.size(), nCtx);
    return 1;
  }
  if (llmc_status st = llmc_prefill(s.ctx, chat.prefix.data(),
                                    (int64_t)chat.prefix.size()))
    return runtimeError("prefill", st);
  std::vector<int32_t> history = chat.prefix;
  std::fprintf(stderr,
               "%s chat: %zu positions of context; /reset starts over, /quit "
               "(or an empty line, or Ctrl-D) ends\n",
               gTool, nCtx);
  // A reply cut off by --max-new is closed before the next turn.
  std::vector<int32_t> pendingClose;
  std::string line;
  while (true) {
    std::fputs("> ", stderr);
    LineRead got = readChatLine(line);
    if (got == LineRead::TooLong) {
      warning("a message longer than %zu MiB was dropped; the chat goes on",
              kMaxChatLine >> 20);
      continue;
    }
    if (got == LineRead::Binary) {
      error("stdin holds a NUL byte: not text; the chat ends");
      return 1;
    }
    if (got == LineRead::End || line.empty() || line == "/quit")
      break;
    if (line == "/reset") {
      chat.turns.clear();
      pendingClose.clear();
      history = chat.prefix;
      llmc_reset(s.ctx);
      if (llmc_status st = llmc_prefill(s.ctx, chat.prefix.data(),
                                        (int64_t)chat.prefix.size()))
        return runtimeError("prefill", st);
      std::fprintf(stderr, "%s: the chat starts over (system prompt kept)\n",
                   gTool);
      continue;
    }
    std::vector<int32_t> turn;
    if (!special("<|start_header_id|>user<|end_header_id|>", turn) ||
        !plain("\n\n" + trim(line), turn) ||
        !special("<|eot_id|><|start_header_id|>assistant<|end_header_id|>", turn) ||
        !plain("\n\n", turn))
      return 1;
    if (chat.prefix.size() + turn.size() + 1 > nCtx) {
      warning("a message of %zu tokens does not fit the context (%zu "
              "positions, %zu of them before the first turn); it was not "
              "sent, the chat goes on",
              turn.size(), nCtx, chat.prefix.size());
      continue;
    }
    // The close of a reply cut short (held by the last turn) goes in first.
    std::vector<int32_t> feed = pendingClose;
    feed.insert(feed.end(), turn.begin(), turn.end());
    pendingClose.clear();
    int64_t pos = 0;
    llmc_get_position(s.ctx, &pos);
    if ((size_t)pos + feed.size() + 1 > nCtx) {
      // Room for the message and a reply of up to a quarter of the context.
      size_t room = nCtx / 4;
      if (maxNew >= 0 && (size_t)maxNew < room)
        room = (size_t)maxNew + 1;
      bool failed = false;
      if (!shiftContext(s, chat, {}, turn.size() + room, failed) && failed)
        return 1;
      feed = turn; // the shift prefilled the kept turns, closes included
    }
    if (verbosePrompt) {
      std::fprintf(stderr, "%s: message ids:", gTool);
      for (int32_t id : feed)
        std::fprintf(stderr, " %d", id);
      std::fputc('\n', stderr);
    }
    if (llmc_status st = llmc_prefill(s.ctx, feed.data(), (int64_t)feed.size()))
      return runtimeError("prefill", st);
    history.insert(history.end(), turn.begin(), turn.end());
    int64_t left = maxNew;
    while (true) {
      GenerateResult r =
          generate(s, sampler, left, sf.stop, history, true, nullptr, true);
      turn.insert(turn.end(), r.tokens.begin(), r.tokens.end());
      if (r.reason == StopReason::Error)
        return 1;
      if (left >= 0)
        left -= r.generated;
      if (r.reason != StopReason::ContextFull || left == 0) {
        // A reply cut short: its last token and an end of turn go in first
        // next time, so the cache holds the reply as it was shown.
        if (r.reason != StopReason::Eos) {
          if (r.unfed)
            pendingClose.push_back(r.tokens.back());
          special("<|eot_id|>", pendingClose);
          turn.insert(turn.end(), pendingClose.begin(), pendingClose.end());
        }
        break;
      }
      // Full mid-reply: drop old turns and continue the reply after them.
      bool failed = false;
      if (!shiftContext(s, chat, turn, nCtx / 4, failed)) {
        if (failed)
          return 1;
        warning("this reply alone fills the context (%zu positions); it "
                "ends here, the chat goes on",
                nCtx);
        // Nothing of it fits with the next message: that one starts afresh.
        pendingClose.clear();
        turn.clear();
        llmc_reset(s.ctx);
        if (llmc_status st = llmc_prefill(s.ctx, chat.prefix.data(),
                                          (int64_t)chat.prefix.size()))
          return runtimeError("prefill", st);
        chat.turns.clear();
        break;
      }
    }
    std::fputc('\n', stdout);
    std::fflush(stdout);
    // The turn as the cache holds it (with its close, once that is fed).
    if (!turn.empty())
      chat.turns.push_back(turn);
  }
  return 0;
}

//===----------------------------------------------------------------------===//
// tokenize
//===----------------------------------------------------------------------===//

int cmdTokenize(int argc, char **argv) {
  std::string artifact, text;
  std::vector<int64_t> decode;
  bool noSpecial = false, bos = false;
  ContextFlags cf;
  Command cmd{"tokenize",
              "show the token ids of a text, or the text of ids (--decode)",
              {{"<model.llmc>", &artifact, true}, {"<text>", &text, false}},
              {}};
  cmd.options.push_back(opt("decode", Option::IntList, &decode, "ids",
                            "Ids to turn back into text", 0, INT32_MAX));
  cmd.options.push_back(opt("no-special", Option::Flag, &noSpecial, "",
                            "Treat special-token text like <|eot_id|> as "
                            "plain text"));
  cmd.options.push_back(opt("bos", Option::Flag, &bos, "",
                            "Prepend the begin-of-text id"));
  cmd.example = "llmc tokenize model.llmc \"In the beginning\"   (then: --decode 644,279,7314)";
  if (int rc = parseFlags(cmd, argc, argv); rc >= 0)
    return rc;
  if (!decode.empty() && !text.empty()) {
    error("give either a text or --decode ids, not both");
    return 1;
  }
  // Only the tokenizer: an artifact for another machine tokenizes here too.
  Session s;
  if (!s.open(artifact, -1, /*needTokenizer=*/true, cf))
    return 1;
  if (!decode.empty()) {
    std::vector<int32_t> ids(decode.begin(), decode.end());
    std::vector<char> out(ids.size() * 16 + 16);
    size_t n = 0;
    llmc_status st = llmc_detokenize(s.tok, ids.data(), ids.size(), 0,
                                     out.data(), out.size(), &n);
    if (st == LLMC_ERR_BUFFER_TOO_SMALL) {
      out.resize(n);
      st = llmc_detokenize(s.tok, ids.data(), ids.size(), 0, out.data(),
                           out.size(), &n);
    }
    if (st != LLMC_OK) {
      error("cannot decode: %s", llmc_last_error());
      return 1;
    }
    std::fwrite(out.data(), 1, n, stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  std::vector<int32_t> ids;
  if (!encode(s.tok, text, !noSpecial, bos, ids))
    return 1;
  for (size_t i = 0; i < ids.size(); ++i)
    std::printf(i ? ",%d" : "%d", ids[i]);
  std::fputc('\n', stdout);
  return 0;
}

//===----------------------------------------------------------------------===//
// perplexity
//===----------------------------------------------------------------------===//

/// Runs one window through a context and returns the log-softmax rows of
/// positions [first, n-1) (each predicting the next token).
bool windowLogProbs(Session &s, const std::vector<int32_t> &w, int64_t first,
                    std::vector<std::vector<double>> &rows) {
  llmc_reset(s.ctx);
  rows.clear();
  int64_t chunk = s.info.prefill_chunk, vocab = s.info.vocab_size;
  for (size_t start = 0; start < w.size(); start += chunk) {
    int64_t n = std::min<int64_t>(chunk, w.size() - start);
    if (llmc_status st = llmc_prefill(s.ctx, &w[start], n)) {
      runtimeError("prefill", st);
      return false;
    }
    const float *logits;
    int64_t nrows, firstPos;
    if (llmc_status st = llmc_get_all_logits(s.ctx, &logits, &nrows, &firstPos)) {
      runtimeError("logits", st);
      return false;
    }
    for (int64_t r = 0; r < nrows; ++r) {
      int64_t pos = firstPos + r;
      if (pos < first || pos >= (int64_t)w.size() - 1)
        continue;
      const float *l = logits + r * vocab;
      double mx = l[0];
      for (int64_t v = 1; v < vocab; ++v)
        mx = std::max(mx, (double)l[v]);
      double sum = 0;
      for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp(l[v] - mx);
      double lse = mx + std::log(sum);
      std::vector<double> lp(vocab);
      for (int64_t v = 0; v < vocab; ++v)
        lp[v] = l[v] - lse;
      rows.push_back(std::move(lp));
    }
  }
  return true;
}

bool readFile(const std::string &path, std::string &out, size_t limit) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error("%s: %s", path.c_str(), std::strerror(errno));
    return false;
  }
  char buf[1 << 16];
  size_t n;
  while (out.size() <= limit && (n = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  bool ok = !std::ferror(f);
  if (!ok)
    error("%s: %s", path.c_str(), std::strerror(errno));
  else if (out.size() > limit) {
    error("%s: more than %zu MiB of text, the most perplexity reads (score a part "
          "of it)", path.c_str(), limit >> 20);
    ok = false;
  }
  std::fclose(f);
  return ok;
}

int cmdPerplexity(int argc, char **argv) {
  std::string artifact, file, refPath;
  int64_t ctxLen = 0, maxWindows = 0;
  bool addBos = false;
  ContextFlags cf;
  Command cmd{"perplexity",
              "perplexity of a text file (non-overlapping windows, as "
              "llama.cpp's perplexity), optionally KL divergence against a "
              "reference artifact",
              {{"<model.llmc>", &artifact, true}},
              {}};
  cmd.options.push_back(opt("file", Option::Text, &file, "file",
                            "UTF-8 text to score (at most 256 MiB)"));
  cmd.options.back().required = true;
  cmd.options.push_back(opt("ctx", Option::Int, &ctxLen, "N",
                            "Window length in tokens (0 = min(512, compiled "
                            "max context))",
                            0, INT32_MAX));
  cmd.options.push_back(opt("max-windows", Option::Int, &maxWindows, "N",
                            "Score at most this many windows (0 = all)", 0,
                            INT32_MAX));
  cmd.options.push_back(opt("add-bos", Option::Flag, &addBos, "",
                            "Start the token stream with BOS, as "
                            "llama-perplexity does, so the windows are "
                            "llama.cpp's (default: the text's tokens only, "
                            "as the transformers reference scores them)"));
  cmd.options.push_back(opt("ref", Option::Text, &refPath, "ref.llmc",
                            "Reference artifact (e.g. the f32 build): adds KL "
                            "divergence and top-1 agreement"));
  cf.add(cmd);
  cmd.example = "llmc perplexity q4.llmc --file wiki.test.raw --ref f32.llmc";
  if (int rc = parseFlags(cmd, argc, argv); rc >= 0)
    return rc;
  Session s;
  if (!s.open(artifact, 0, /*needTokenizer=*/true, cf, LLMC_CONTEXT_ALL_LOGITS))
    return 1;
  std::unique_ptr<Session> ref;
  if (!refPath.empty()) {
    ref = std::make_unique<Session>();
    if (!ref->open(refPath, 0, false, cf, LLMC_CONTEXT_ALL_LOGITS))
      return 1;
    if (ref->info.vocab_size != s.info.vocab_size) {
      error("the reference has a different vocabulary");
      return 1;
    }
  }
  std::string text;
  if (!readFile(file, text, kMaxTextFile))
    return 1;
  std::vector<int32_t> tokens;
  if (!encode(s.tok, text, /*parseSpecial=*/false, addBos, tokens))
    return 1;
  int64_t nCtx = s.nCtx();
  int64_t ctx = ctxLen ? ctxLen : std::min<int64_t>(512, nCtx);
  if (ctx < 4 || ctx > nCtx) {
    error("--ctx must be in [4, %lld] (the context's positions)",
          (long long)nCtx);
    return 1;
  }
  int64_t windows = tokens.size() / ctx;
  if (maxWindows > 0)
    windows = std::min(windows, maxWindows);
  if (windows == 0) {
    error("%s: %zu tokens, fewer than one window of %lld", file.c_str(),
          tokens.size(), (long long)ctx);
    return 1;
  }
  // Like llama.cpp: each window starts with BOS and only its second half is
  // scored, so every scored token sees at least ctx/2 tokens of context.
  int64_t first = ctx / 2;
  std::fprintf(stderr,
               "%s: %zu tokens, %lld windows of %lld, scoring positions "
               "%lld..%lld of each\n",
               gTool, tokens.size(), (long long)windows, (long long)ctx,
               (long long)first, (long long)(ctx - 2));
  double nll = 0, nll2 = 0, kl = 0, kl2 = 0, refNll = 0;
  int64_t count = 0, agree = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<double>> rows, refRows;
  for (int64_t wi = 0; wi < windows; ++wi) {
    std::vector<int32_t> w(tokens.begin() + wi * ctx,
                           tokens.begin() + (wi + 1) * ctx);
    if (s.info.bos_token_id >= 0)
      w[0] = s.info.bos_token_id;
    if (!windowLogProbs(s, w, first, rows))
      return 1;
    if (ref && !windowLogProbs(*ref, w, first, refRows))
      return 1;
    for (size_t r = 0; r < rows.size(); ++r) {
      int32_t next = w[first + r + 1];
      double x = -rows[r][next];
      nll += x;
      nll2 += x * x;
      ++count;
      if (ref) {
        const std::vector<double> &p = refRows[r], &q = rows[r];
        double d = 0;
        size_t am = 0, bm = 0;
        for (size_t v = 0; v < p.size(); ++v) {
          d += std::exp(p[v]) * (p[v] - q[v]);
          if (p[v] > p[am])
            am = v;
          if (q[v] > q[bm])
            bm = v;
        }
        kl += d;
        kl2 += d * d;
        agree += am == bm;
        refNll += -p[next];
      }
    }
    std::fprintf(stderr, "%s: [%lld/%lld] ppl so far %.4f\n", gTool,
                 (long long)(wi + 1), (long long)windows, std::exp(nll / count));
  }
  double secs = secondsSince(t0);
  double mean = nll / count;
  double var = count > 1 ? (nll2 / count - mean * mean) * count / (count - 1) : 0;
  double ppl = std::exp(mean);
  double pplErr = ppl * std::sqrt(std::max(0.0, var) / count);
  std::printf("perplexity: %.4f +/- %.4f over %lld tokens (%lld windows of %lld)\n",
              ppl, pplErr, (long long)count, (long long)windows, (long long)ctx);
  if (ref) {
    double kMean = kl / count;
    double kVar = count > 1 ? (kl2 / count - kMean * kMean) * count / (count - 1) : 0;
    double refPpl = std::exp(refNll / count);
    std::printf("reference perplexity: %.4f (delta %+.3f%%)\n", refPpl,
                100.0 * (ppl / refPpl - 1.0));
    std::printf("mean KL divergence (reference || model): %.6f +/- %.6f\n",
                kMean, std::sqrt(std::max(0.0, kVar) / count));
    std::printf("top-1 agreement: %.2f%%\n", 100.0 * agree / count);
  }
  std::fprintf(stderr, "%s: scored %lld tokens in %.1f s\n", gTool,
               (long long)count, secs);
  return 0;
}

//===----------------------------------------------------------------------===//
// inspect
//===----------------------------------------------------------------------===//

struct InspectFlags {
  int64_t position = 0;
  std::string target;
  double bandwidth = 0;
  bool dispatches = false;
};

/// Bytes on paper: what one decode token at --position moves, per kernel
/// and in total, and the tokens/s a preset's memory bandwidth allows.
int printDecodeTraffic(llmc_model *model, const llmc_model_info &i,
                       const InspectFlags &f) {
  int64_t pos = f.position;
  if (pos < 0 || pos >= i.max_context) {
    error("--position %lld outside [0, max context %d)", (long long)pos,
          i.max_context);
    return 1;
  }
  struct Row {
    std::string name;
    int count = 0;
    uint64_t read = 0, written = 0;
  };
  std::vector<Row> rows;
  uint64_t read = 0, written = 0, weights = 0;
  if (f.dispatches)
    std::printf("decode token at position %lld, every dispatch:\n"
                "      #  %12s %12s  %8s  kernel (label)\n",
                (long long)pos, "read", "written", "grid");
  for (uint32_t d = 0; d < i.num_dispatches; ++d) {
    llmc_dispatch_info di;
    if (llmc_status st = llmc_model_get_dispatch_info(model, d, 1, pos, &di))
      return runtimeError("inspect", st);
    std::string name = std::string(di.kernel) + " (" + di.label + ")";
    if (f.dispatches)
      std::printf("  %5u  %12llu %12llu  %8lld  %s\n", d,
                  (unsigned long long)di.bytes_read,
                  (unsigned long long)di.bytes_written, (long long)di.grid,
                  name.c_str());
    auto it = std::find_if(rows.begin(), rows.end(),
                           [&](const Row &r) { return r.name == name; });
    if (it == rows.end())
      it = rows.insert(rows.end(), Row{name});
    ++it->count;
    it->read += di.bytes_read;
    it->written += di.bytes_written;
    read += di.bytes_read;
    written += di.bytes_written;
    weights += di.weight_bytes_read;
  }
  auto mb = [](uint64_t b) { return b / 1e6; };
  std::printf("decode token at position %lld (--position): bytes each kernel "
              "moves, all its dispatches\n",
              (long long)pos);
  std::printf("  %5s  %12s %12s  %s\n", "calls", "read MB", "written MB",
              "kernel (label)");
  for (const Row &r : rows)
    std::printf("  %4dx  %12.3f %12.3f  %s\n", r.count, mb(r.read),
                mb(r.written), r.name.c_str());
  uint64_t total = read + written;
  std::printf("per token:     %u dispatches move %llu bytes (%.2f MB)\n"
              "  read:        %llu bytes: %llu of weights, %llu of KV cache "
              "and activations\n"
              "  written:     %llu bytes\n",
              i.num_dispatches, (unsigned long long)total, mb(total),
              (unsigned long long)read, (unsigned long long)weights,
              (unsigned long long)(read - weights),
              (unsigned long long)written);
  std::string presetName = f.target.empty() ? std::string(i.target) : f.target;
  const llmc::targets::TargetPreset *preset =
      llmc::targets::findTargetPreset(presetName);
  if (!preset && f.bandwidth <= 0) {
    error("unknown target preset '%s' (`llmc build --target help` lists them)",
          presetName.c_str());
    return 1;
  }
  double bw = f.bandwidth > 0 ? f.bandwidth : preset->bandwidthGBs;
  std::string source = f.bandwidth > 0
                           ? std::string("--bandwidth")
                           : presetName + ", " + preset->device;
  if (bw <= 0) {
    std::printf("on paper:      no bandwidth figure for %s; pass --bandwidth "
                "GB/s or --target PRESET\n",
                source.c_str());
    return 0;
  }
  std::printf("on paper:      %.1f GB/s (%s) / %.2f MB = %.1f decode "
              "tokens/s at most\n",
              bw, source.c_str(), mb(total), bw * 1e9 / double(total));
  return 0;
}

int cmdInspect(int argc, char **argv) {
  std::string artifact;
  InspectFlags f;
  Command cmd{"inspect",
              "describe an artifact: manifest, model, kernels and memory",
              {{"<model.llmc>", &artifact, true}},
              {}};
  cmd.options.push_back(opt("position", Option::Int, &f.position, "N",
                            "Position of the decode token whose bytes are "
                            "counted (the KV cache read grows with it)",
                            0, INT32_MAX));
  cmd.options.push_back(opt("target", Option::Text, &f.target, "preset",
                            "Preset whose bandwidth judges the speed "
                            "(default: the artifact's; `llmc build --target "
                            "help` lists them)"));
  cmd.options.push_back(opt("bandwidth", Option::Float, &f.bandwidth, "GB/s",
                            "Memory bandwidth (overrides the preset's)", 0));
  cmd.options.push_back(opt("dispatches", Option::Flag, &f.dispatches, "",
                            "List every dispatch of a decode token"));
  cmd.example = "llmc inspect model.llmc --target android/cpu --position 1024";
  if (int rc = parseFlags(cmd, argc, argv); rc >= 0)
    return rc;
  // Metadata only: any artifact can be inspected anywhere (an android/cpu
  // build on the x86-64 machine that compiled it).
  llmc_model *model = nullptr;
  if (llmc_status st =
          llmc_model_open(artifact.c_str(), LLMC_OPEN_METADATA_ONLY, &model))
    return runtimeError(artifact.c_str(), st);
  llmc_model_info i;
  llmc_model_get_info(model, &i);
  std::printf("artifact:      %s (%.1f MB, format v%u)\n", artifact.c_str(),
              i.file_size / 1e6, i.format_version);
  std::printf("compiler:      %s (%s)\n", i.compiler_version, i.created_by);
  std::printf("target:        %s (%s; %s)\n", i.target, i.target_triple,
              i.cpu_features && *i.cpu_features ? i.cpu_features
                                                : "no CPU features required");
  std::printf("code:          %s\n",
              !std::strcmp(i.code_format, "linked")
                  ? "linked: the kernels are in a library the program links "
                    "(llmc build --emit static-lib)"
                  : i.code_format);
  std::printf("quantization:  %s\n", i.quantization);
  std::printf("model:         %d layers, hidden %d, ffn %d, %d heads / %d kv "
              "heads x %d, vocab %d\n",
              i.num_layers, i.hidden_size, i.intermediate_size, i.num_heads,
              i.num_kv_heads, i.head_dim, i.vocab_size);
  std::printf("rope:          theta %g", i.rope_theta);
  if (i.rope_scaling_type && *i.rope_scaling_type) {
    std::printf(", %s scaling x%g", i.rope_scaling_type, i.rope_scaling_factor);
    if (!std::strcmp(i.rope_scaling_type, "llama3"))
      std::printf(" (low %g, high %g, original %d)", i.rope_low_freq_factor,
                  i.rope_high_freq_factor,
                  i.rope_original_max_position_embeddings);
  }
  std::printf("\nnorm eps:      %g\ntied embed:    %s\nbos / eos:     %d /",
              i.rms_norm_eps, i.tie_word_embeddings ? "yes" : "no",
              i.bos_token_id);
  for (int k = 0; k < i.num_eos_tokens; ++k)
    std::printf(" %d", i.eos_token_ids[k]);
  std::printf("\ncontext:       max %d, prefill chunk %d\n", i.max_context,
              i.prefill_chunk);
  std::printf("weights:       %u tensors, %.2f MB\n", i.num_weights,
              i.weights_size / 1e6);
  std::printf("arena:         %.3f MB", i.arena_size / 1e6);
  if (i.arena_size_unfused)
    std::printf(" (%.3f MB without fusion, %+.0f%%)",
                i.arena_size_unfused / 1e6,
                100.0 * (double(i.arena_size) - double(i.arena_size_unfused)) /
                    double(i.arena_size_unfused));
  std::printf("\n");
  std::printf("kv cache:      %.3f MB (%llu bytes per token)\n",
              i.kv_cache_bytes / 1e6,
              (unsigned long long)i.kv_cache_bytes_per_token);
  // What a context holds at its longest: the weights are mapped (counted
  // once per model), the arena and the KV cache are per context.
  std::printf("memory:        %.1f MB at max context (weights + arena + kv "
              "cache)\n",
              (double(i.weights_size) + double(i.arena_size) +
               double(i.kv_cache_bytes)) /
                  1e6);
  // Dispatches per layer (most and fewest), from the layer each records.
  std::map<int32_t, int> perLayer;
  int outside = 0;
  for (uint32_t d = 0; d < i.num_dispatches; ++d) {
    llmc_dispatch_info di;
    if (llmc_model_get_dispatch_info(model, d, 1, 0, &di) == LLMC_OK &&
        di.layer >= 0)
      ++perLayer[di.layer];
    else
      ++outside;
  }
  std::printf("kernels:       %u dispatches per call of the model",
              i.num_dispatches);
  if (!perLayer.empty()) {
    int lo = INT_MAX, hi = 0;
    for (const auto &entry : perLayer) {
      lo = std::min(lo, entry.second);
      hi = std::max(hi, entry.second);
    }
    if (lo == hi)
      std::printf(" (%d a layer x %zu layers, %d outside them)", hi,
                  perLayer.size(), outside);
    else
      std::printf(" (%d to %d a layer, %d outside them)", lo, hi, outside);
  }
  std::printf("\n");
  int rc = printDecodeTraffic(model, i, f);
  llmc_model_close(model);
  return rc;
}

struct Subcommand {
  const char *name;
  int (*fn)(int, char **);
};
const Subcommand kSubcommands[] = {{"run", cmdRun},
                                   {"chat", cmdChat},
                                   {"tokenize", cmdTokenize},
                                   {"inspect", cmdInspect},
                                   {"perplexity", cmdPerplexity}};

} // namespace

bool isRunnerSubcommand(const char *name) {
  for (const Subcommand &s : kSubcommands)
    if (!std::strcmp(name, s.name))
      return true;
  return false;
}

const char *runnerOverview() {
  return "  run model.llmc -p \"text\"         generate text (streamed)\n"
         "  run model.llmc --tokens 1,2,3    generate from token ids\n"
         "  chat model.llmc                  chat in the Llama 3 chat format\n"
         "  tokenize model.llmc \"text\"       token ids of a text (--decode: back)\n"
         "  inspect model.llmc               describe an artifact\n"
         "  perplexity model.llmc --file t   perplexity (and KL vs --ref)\n";
}

int runnerMain(int argc, char **argv, const char *tool) {
  llmc_enable_gpu(); // OpenCL and Vulkan artifacts too

  gTool = tool;
  if (argc < 2)
    return 1;
  for (const Subcommand &s : kSubcommands)
    if (!std::strcmp(argv[1], s.name))
      return s.fn(argc, argv);
  error("unknown subcommand '%s'", argv[1]);
  return 1;
}

} // namespace llmc::run
