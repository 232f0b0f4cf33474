// What rewind's commands and options are, written once: `rewind --help`,
// `rewind help COMMAND`, `rewind COMMAND --help`, the man pages and the
// bash completion are all printed from this table (cli/HelpText.cc), so
// they cannot drift apart. The build writes the man pages and the
// completion script by running `rewind help --man-dir DIR` and
// `rewind help --bash-completion` (cli/CMakeLists.txt).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace rwd::cli {

// What an option's value, or a positional argument, is: it tells the
// completion what to offer.
enum class ArgKind {
  None,     // a flag without a value
  Trace,    // a trace name or directory, or a bundle file
  File,     // any file
  Dir,      // a directory
  Program,  // a command on $PATH, then its arguments (files)
  Command,  // a rewind command (help COMMAND)
  Word,     // anything: a number, NAME=VALUE... (nothing to offer)
  Choice,   // one of OptionDoc::choices
};

struct OptionDoc {
  std::vector<std::string> names;  // "-o", "--output"
  std::string value;               // "DIR"; empty for a flag
  ArgKind kind = ArgKind::None;
  std::string help;
  std::vector<std::string> choices;  // for ArgKind::Choice
};

struct CommandDoc {
  std::string name;                   // "record"
  std::vector<std::string> synopses;  // "[OPTIONS] PROG [ARGS...]", one per form
  std::string summary;                // one line, for the overview and NAME
  std::string description;            // paragraphs, separated by blank lines
  std::vector<OptionDoc> options;
  std::vector<ArgKind> positionals;  // what the arguments after the options are
  std::string examples;              // "$ command\n  what it does\n..." lines
};

// Every command, in the order the overview lists them.
const std::vector<CommandDoc>& commands();
const CommandDoc* find_command(const std::string& name);

// rewind --help.
void print_overview(FILE* out);
// rewind help COMMAND.
void print_command_help(FILE* out, const CommandDoc& c);
// One line: "usage: rewind record [OPTIONS] PROG [ARGS...]" per form.
void print_synopsis(FILE* out, const CommandDoc& c);

// The man page of one command (rewind-record.1), or of rewind itself
// (rewind.1) when `c` is null.
std::string man_page(const CommandDoc* c);
// The bash completion script (complete -F _rewind rewind).
std::string bash_completion();

// "rewind 0.16.0".
std::string version_line();

}  // namespace rwd::cli
