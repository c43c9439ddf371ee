//===- Args.cpp - the runner's command-line options, declared in a table -===//

#include "runtime/llmc-run/Args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace llmc::run {
namespace {

bool parseInt(const std::string &s, int64_t &out) {
  if (s.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end)
    return false;
  out = v;
  return true;
}

bool parseFloat(const std::string &s, double &out) {
  if (s.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno || *end || !std::isfinite(v))
    return false;
  out = v;
  return true;
}

std::string rangeText(const Option &o) {
  char buf[96];
  // Bounds at the int32 limits only keep a count in range: not worth saying.
  bool lo = o.min > -2147483647.0, hi = o.max < 2147483647.0;
  if (lo && hi)
    std::snprintf(buf, sizeof buf, "in [%.10g, %.10g]", o.min, o.max);
  else if (lo)
    std::snprintf(buf, sizeof buf, ">= %.10g", o.min);
  else if (hi)
    std::snprintf(buf, sizeof buf, "<= %.10g", o.max);
  else
    buf[0] = 0;
  return buf;
}

/// "a|b|c" as "a, b or c".
std::string choiceText(const char *choices) {
  std::string all = choices, out;
  size_t last = all.rfind('|');
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] != '|')
      out += all[i];
    else
      out += i == last ? " or " : ", ";
  }
  return out;
}

/// Stores `text` into `o`; false (after printing why) if it does not parse.
bool assign(Option &o, const std::string &text, const char *tool,
            const Command &cmd) {
  auto bad = [&](const char *what) {
    std::fprintf(stderr, "%s: error: --%s: '%s' is not %s (see %s %s --help)\n",
                 tool, o.name, text.c_str(), what, tool, cmd.name);
    return false;
  };
  auto inRange = [&](double v) {
    if (v >= o.min && v <= o.max)
      return true;
    std::fprintf(stderr, "%s: error: --%s must be %s, not %s\n", tool, o.name,
                 rangeText(o).c_str(), text.c_str());
    return false;
  };
  switch (o.kind) {
  case Option::Flag:
    if (text == "true" || text == "1")
      *static_cast<bool *>(o.value) = true;
    else if (text == "false" || text == "0")
      *static_cast<bool *>(o.value) = false;
    else
      return bad("true or false");
    return true;
  case Option::Int: {
    int64_t v;
    if (!parseInt(text, v))
      return bad("an integer");
    if (!inRange((double)v))
      return false;
    *static_cast<int64_t *>(o.value) = v;
    return true;
  }
  case Option::Float: {
    double v;
    if (!parseFloat(text, v))
      return bad("a number");
    if (!inRange(v))
      return false;
    *static_cast<double *>(o.value) = v;
    return true;
  }
  case Option::Text:
    if (o.choices) {
      std::string all = o.choices;
      bool found = false;
      for (size_t start = 0; start <= all.size();) {
        size_t bar = all.find('|', start);
        if (bar == std::string::npos)
          bar = all.size();
        found |= all.compare(start, bar - start, text) == 0 &&
                 bar - start == text.size();
        start = bar + 1;
      }
      if (!found) {
        std::fprintf(stderr, "%s: error: --%s must be %s, not '%s'\n", tool,
                     o.name, choiceText(o.choices).c_str(), text.c_str());
        return false;
      }
    }
    *static_cast<std::string *>(o.value) = text;
    return true;
  case Option::IntList: {
    auto *list = static_cast<std::vector<int64_t> *>(o.value);
    size_t start = 0;
    while (true) {
      size_t comma = text.find(',', start);
      std::string item = text.substr(start, comma == std::string::npos
                                                ? std::string::npos
                                                : comma - start);
      int64_t v;
      if (!parseInt(item, v))
        return bad("a comma-separated list of integers");
      if (!inRange((double)v))
        return false;
      list->push_back(v);
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
    return true;
  }
  case Option::TextList:
    static_cast<std::vector<std::string> *>(o.value)->push_back(text);
    return true;
  }
  return false;
}

} // namespace

ParseResult parse(Command &cmd, int argc, char **argv, int first,
                  const char *tool) {
  size_t nextPositional = 0;
  bool optionsDone = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (!optionsDone && arg == "--") {
      optionsDone = true;
      continue;
    }
    if (optionsDone || arg.size() < 2 || arg[0] != '-') {
      if (nextPositional == cmd.positionals.size()) {
        std::fprintf(stderr,
                     "%s: error: unexpected argument '%s' (see %s %s --help)\n",
                     tool, arg.c_str(), tool, cmd.name);
        return ParseResult::Error;
      }
      *cmd.positionals[nextPositional++].value = arg;
      continue;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1), value;
    bool hasValue = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasValue = true;
    }
    if (name == "help" || name == "h") {
      std::fputs(help(cmd, tool).c_str(), stdout);
      return ParseResult::Help;
    }
    Option *o = nullptr;
    for (Option &c : cmd.options)
      if (name == c.name)
        o = &c;
    if (!o) {
      std::fprintf(stderr, "%s: error: unknown option '%s' for `%s %s` (see %s %s --help)\n",
                   tool, arg.c_str(), tool, cmd.name, tool, cmd.name);
      return ParseResult::Error;
    }
    if (o->kind == Option::Flag && !hasValue) {
      value = "true";
    } else if (!hasValue) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: error: --%s needs a value (%s)\n", tool,
                     o->name, o->meta);
        return ParseResult::Error;
      }
      value = argv[++i];
    }
    if (!assign(*o, value, tool, cmd))
      return ParseResult::Error;
    o->given = true;
  }
  for (size_t p = nextPositional; p < cmd.positionals.size(); ++p)
    if (cmd.positionals[p].required) {
      std::fprintf(stderr, "%s: error: `%s %s` needs %s (see %s %s --help)\n",
                   tool, tool, cmd.name, cmd.positionals[p].meta, tool,
                   cmd.name);
      return ParseResult::Error;
    }
  for (const Option &o : cmd.options)
    if (o.required && !o.given) {
      std::fprintf(stderr, "%s: error: `%s %s` needs --%s %s\n", tool, tool,
                   cmd.name, o.name, o.meta);
      return ParseResult::Error;
    }
  return ParseResult::Ok;
}

Option opt(const char *name, Option::Kind kind, void *value, const char *meta,
           const char *help, double min, double max, const char *choices) {
  Option o{name, kind, value, meta, help};
  o.min = min;
  o.max = max;
  o.choices = choices;
  return o;
}

int parseSubcommand(Command &cmd, int argc, char **argv, const char *tool) {
  switch (parse(cmd, argc, argv, 2, tool)) {
  case ParseResult::Help: return 0;
  case ParseResult::Error: return 1;
  case ParseResult::Ok: break;
  }
  return -1;
}

std::string help(const Command &cmd, const char *tool) {
  std::string out = std::string(tool) + " " + cmd.name + ": " + cmd.summary +
                    "\n\nUsage: " + tool + " " + cmd.name;
  for (const Positional &p : cmd.positionals)
    out += p.required ? std::string(" ") + p.meta
                      : std::string(" [") + p.meta + "]";
  out += " [options]\n\nOptions:\n";
  for (const Option &o : cmd.options) {
    std::string left = std::string(o.name[1] ? "  --" : "  -") + o.name;
    if (o.kind != Option::Flag)
      left += std::string(" ") + o.meta;
    std::string right = o.help;
    char def[64] = "";
    switch (o.kind) {
    case Option::Int:
      std::snprintf(def, sizeof def, "%lld",
                    (long long)*static_cast<int64_t *>(o.value));
      break;
    case Option::Float:
      std::snprintf(def, sizeof def, "%g", *static_cast<double *>(o.value));
      break;
    case Option::Text:
      if (!static_cast<std::string *>(o.value)->empty())
        std::snprintf(def, sizeof def, "%s",
                      static_cast<std::string *>(o.value)->c_str());
      break;
    default:
      break;
    }
    if (o.choices)
      right += " (" + choiceText(o.choices) + ")";
    if (o.required)
      right += " (required)";
    else if (def[0])
      right += std::string(" (default: ") + def + ")";
    if (left.size() < 24)
      out += left + std::string(24 - left.size(), ' ') + right + "\n";
    else
      out += left + "\n" + std::string(24, ' ') + right + "\n";
  }
  out += "  --help                Show this help\n";
  if (cmd.example) {
    // Examples are written for llmc; llmc-run takes the same command line.
    std::string example = cmd.example;
    if (example.rfind("llmc ", 0) == 0)
      example = std::string(tool) + example.substr(4);
    out += "\nExample:\n  " + example + "\n";
  }
  return out;
}

} // namespace llmc::run
