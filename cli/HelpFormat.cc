// Prints the command table (cli/HelpText.cc) as terminal help and as man
// pages; cli/Completion.cc prints it as bash completion.
#include <cstdlib>
#include <ctime>
#include <string>

#include "cli/Help.h"

namespace rwd::cli {
namespace {

constexpr size_t kWidth = 79;

// The environment and files every command shares: in `rewind --help` and
// rewind(1).
const char* const kEnvironment[][2] = {
    {"REWIND_TRACE_DIR",
     "Where traces are recorded and looked up by name (default ~/.local/share/rewind)."},
    {"REWIND_CACHE_DIR",
     "Where rewind keeps what it learnt decoding programs' code, and unpacked bundles "
     "(default ~/.cache/rewind; - keeps nothing)."},
    {"REWIND_LOG",
     "Comma-separated logs to print on stderr: ptrace, wait, syscall, trace, record, replay, "
     "sched, packets, or all."},
    {"REWIND_PRELOAD", "The syscall-buffering library to inject (default: the installed one)."},
    {"REWIND_LLDB_PLUGIN", "The LLDB plugin replay -d lldb loads (default: the installed one)."},
};

// `text` wrapped to kWidth, each line indented by `indent` spaces; the
// first line continues a line already `first_column` wide.
std::string wrap(const std::string& text, size_t indent, size_t first_column) {
  std::string out, word;
  size_t column = first_column;
  bool line_empty = true;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (!line_empty && column + 1 + word.size() > kWidth) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_empty = false;
    word.clear();
  };
  for (char ch : text) {
    if (ch == ' ' || ch == '\n') {
      flush_word();
      if (ch == '\n') {
        out += "\n" + std::string(indent, ' ');
        column = indent;
        line_empty = true;
      }
    } else {
      word += ch;
    }
  }
  flush_word();
  return out;
}

std::string option_label(const OptionDoc& o) {
  std::string s;
  for (const auto& n : o.names) s += (s.empty() ? "" : ", ") + n;
  if (!o.value.empty()) s += " " + o.value;
  return s;
}

// roff: escape backslashes and hyphens (so that man shows the ASCII minus
// that a copied option needs), and protect a leading dot or quote.
std::string roff(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\\')
      out += "\\e";
    else if (ch == '-')
      out += "\\-";
    else
      out += ch;
  }
  std::string guarded;
  bool line_start = true;
  for (char ch : out) {
    if (line_start && (ch == '.' || ch == '\'')) guarded += "\\&";
    guarded += ch;
    line_start = ch == '\n';
  }
  return guarded;
}

// A paragraph of the description as man source: blank lines become .PP.
std::string roff_paragraphs(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find("\n\n", start);
    if (end == std::string::npos) end = text.size();
    out += ".PP\n" + roff(text.substr(start, end - start)) + "\n";
    start = end + 2;
  }
  return out;
}

std::string man_header(const std::string& title, const std::string& name,
                       const std::string& summary) {
  // SOURCE_DATE_EPOCH (reproducible builds) dates the page; else today.
  time_t when = time(nullptr);
  if (const char* e = getenv("SOURCE_DATE_EPOCH"); e && *e) when = strtoll(e, nullptr, 10);
  char date[32];
  struct tm tm;
  strftime(date, sizeof date, "%Y-%m-%d", gmtime_r(&when, &tm));
  return ".TH " + title + " 1 \"" + date + "\" \"" + version_line() +
         "\" \"rewind manual\"\n.SH NAME\n" + roff(name) + " \\- " + roff(summary) + "\n";
}

}  // namespace

std::string version_line() {
  return "rewind " REWIND_VERSION;
}

void print_synopsis(FILE* out, const CommandDoc& c) {
  bool first = true;
  for (const auto& s : c.synopses) {
    fprintf(out, "%s rewind %s%s%s\n", first ? "usage:" : "      ", c.name.c_str(),
            s.empty() ? "" : " ", s.c_str());
    first = false;
  }
}

void print_command_help(FILE* out, const CommandDoc& c) {
  print_synopsis(out, c);
  fprintf(out, "\n%s\n", wrap(c.description, 0, 0).c_str());
  if (!c.options.empty()) fputs("\noptions:\n", out);
  for (const OptionDoc& o : c.options) {
    std::string label = "  " + option_label(o);
    if (label.size() < 24)
      label += std::string(24 - label.size(), ' ');
    else
      label += "\n" + std::string(24, ' ');
    fprintf(out, "%s%s\n", label.c_str(), wrap(o.help, 24, 24).c_str());
  }
  if (!c.examples.empty()) {
    fputs("\nexamples:\n", out);
    size_t start = 0;
    while (start < c.examples.size()) {
      const size_t end = c.examples.find('\n', start);
      fprintf(out, "  %s\n", c.examples.substr(start, end - start).c_str());
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  fprintf(out, "\nSee also man rewind-%s.\n", c.name.c_str());
}

void print_overview(FILE* out) {
  fputs("usage: rewind COMMAND [ARGS...]\n\n", out);
  fputs(
      "Records a Linux program and replays it, deterministically and as often as\n"
      "needed, under gdb, LLDB or an IDE, with reverse execution.\n\ncommands:\n",
      out);
  for (const CommandDoc& c : commands())
    fprintf(out, "  %-12s %s\n", c.name.c_str(), c.summary.c_str());
  fputs(
      "\n  rewind record PROG ARGS...   then   rewind replay\n"
      "\n'rewind help COMMAND' or 'rewind COMMAND --help' tells more; 'rewind --version'.\n"
      "TRACE, where a command takes one, is a name in the trace directory, a path, or a\n"
      "bundle file; without it, the latest trace.\n\nenvironment:\n",
      out);
  for (const auto& [name, text] : kEnvironment)
    fprintf(out, "  %-20s%s\n", name, wrap(text, 22, 22).c_str());
}

std::string man_page(const CommandDoc* c) {
  if (c) {
    std::string page = man_header(
        "REWIND-" +
            [&] {
              std::string up = c->name;
              for (char& ch : up) ch = static_cast<char>(toupper(ch));
              return up;
            }(),
        "rewind-" + c->name, c->summary);
    page += ".SH SYNOPSIS\n";
    for (const auto& s : c->synopses)
      page += ".B rewind " + roff(c->name) + "\n" + (s.empty() ? "" : roff(s) + "\n") + ".br\n";
    page += ".SH DESCRIPTION\n" + roff_paragraphs(c->description);
    if (!c->options.empty()) page += ".SH OPTIONS\n";
    for (const OptionDoc& o : c->options) {
      std::string label;
      for (const auto& n : o.names)
        label += (label.empty() ? "" : ", ") + ("\\fB" + roff(n) + "\\fR");
      if (!o.value.empty()) label += " \\fI" + roff(o.value) + "\\fR";
      page += ".TP\n" + label + "\n" + roff(o.help) + "\n";
    }
    if (!c->examples.empty()) {
      page += ".SH EXAMPLES\n";
      size_t start = 0;
      while (start < c->examples.size()) {
        size_t end = c->examples.find('\n', start);
        if (end == std::string::npos) end = c->examples.size();
        const std::string line = c->examples.substr(start, end - start);
        if (line.rfind("$ ", 0) == 0)
          page += ".TP\n.B " + roff(line.substr(2)) + "\n";
        else
          page += roff(line.substr(line.find_first_not_of(' '))) + "\n";
        start = end + 1;
      }
    }
    page += ".SH SEE ALSO\n.BR rewind (1)\n";
    return page;
  }
  std::string page = man_header("REWIND", "rewind",
                                "record and replay Linux programs, "
                                "debugging them with reverse execution");
  page += ".SH SYNOPSIS\n.B rewind\n.I COMMAND\n[\\fIARGS\\fR...]\n";
  page += ".SH DESCRIPTION\n" +
          roff_paragraphs(
              "rewind records an unmodified Linux x86-64 program (its threads, the processes it "
              "forks and the programs they exec, its signals) into a trace directory, and replays "
              "that run deterministically, as often as needed, under gdb, LLDB or an IDE, with "
              "reverse execution. It needs no hardware performance counters.\n\n"
              "A TRACE argument is a name in the trace directory, a path, or a bundle file; "
              "without one, a command takes the latest trace.");
  page += ".SH COMMANDS\n";
  for (const CommandDoc& cmd : commands())
    page += ".TP\n.BR rewind\\-" + roff(cmd.name) + " (1)\n" + roff(cmd.summary) + "\n";
  page += ".SH EXAMPLES\n.nf\nrewind record ./app arg1\nrewind replay\n.fi\n";
  page += ".SH ENVIRONMENT\n";
  for (const auto& [name, text] : kEnvironment)
    page += ".TP\n.B " + std::string(name) + "\n" + roff(text) + "\n";
  page +=
      ".SH FILES\n.TP\n.I ~/.local/share/rewind/\ntraces, and latest\\-trace, the latest\n"
      ".TP\n.I ~/.cache/rewind/\nwhat rewind learnt decoding code; unpacked bundles\n";
  page += ".SH SEE ALSO\n";
  std::string refs;
  for (const CommandDoc& cmd : commands())
    refs += (refs.empty() ? "" : ",\n") + (".BR rewind\\-" + roff(cmd.name) + " (1)");
  page += refs + ",\n.BR gdb (1),\n.BR lldb (1)\n";
  return page;
}

}  // namespace rwd::cli
