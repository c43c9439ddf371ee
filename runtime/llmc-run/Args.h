//===- Args.h - the runner's command-line options, declared in a table ---===//
//
// llmc-run has no LLVM in it, so no llvm::cl: a subcommand declares its
// options in a table (name, type, default, range, help) and this parser
// fills them, refuses what the table does not allow with a message naming
// the option, and prints each subcommand's --help with its defaults. It
// accepts the spellings llvm::cl accepted (`--flag value`, `--flag=value`,
// `-flag`, comma-separated or repeated lists), so scripts written against
// `llmc run` keep working.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_LLMC_RUN_ARGS_H
#define LLMC_RUNTIME_LLMC_RUN_ARGS_H

#include <cstdint>
#include <string>
#include <vector>

namespace llmc::run {

struct Option {
  enum Kind { Flag, Int, Float, Text, IntList, TextList };
  const char *name;  ///< "max-new": given as --max-new or -max-new
  Kind kind;
  void *value;       ///< bool / int64_t / double / std::string / vectors
  const char *meta;  ///< value placeholder in --help ("N", "file")
  const char *help;
  double min = -1e300, max = 1e300; ///< accepted range of Int / Float
  /// Text: the accepted values, '|'-separated ("f32|f16|q8"); null: any.
  const char *choices = nullptr;
  bool required = false;
  bool given = false;
};

struct Positional {
  const char *meta;  ///< "<model.llmc>"
  std::string *value;
  bool required;
};

struct Command {
  const char *name;     ///< "run"
  const char *summary;  ///< one line
  std::vector<Positional> positionals;
  std::vector<Option> options;
  /// A command line that shows the subcommand in use, for --help.
  const char *example = nullptr;
};

enum class ParseResult { Ok, Help, Error };

/// Parses argv[first..argc) into `cmd`'s options; prints errors (prefixed
/// with `tool`) and --help itself.
ParseResult parse(Command &cmd, int argc, char **argv, int first,
                  const char *tool);

/// An option for a Command's table.
Option opt(const char *name, Option::Kind kind, void *value, const char *meta,
           const char *help, double min = -1e300, double max = 1e300,
           const char *choices = nullptr);

/// parse() of argv[2..] for a subcommand's main: -1 to go on, else the
/// process exit code (0 after --help, 1 after an error).
int parseSubcommand(Command &cmd, int argc, char **argv, const char *tool);

/// The --help text of `cmd`.
std::string help(const Command &cmd, const char *tool);

} // namespace llmc::run

#endif // LLMC_RUNTIME_LLMC_RUN_ARGS_H
