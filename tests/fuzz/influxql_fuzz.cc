// libFuzzer target for the InfluxQL front end (rules/lexer, rules/parser,
// rules/statement_text). For each input it checks that:
//   - parsing terminates without a crash, a stack overflow or a sanitizer report, and
//     an error is InvalidArgument with the "error parsing query: " prefix;
//   - a parsed query prints to text that parses again and prints identically (printing
//     is a fixed point), with the same number of statements;
//   - ValidateSelect() runs on every SELECT (also the one inside a CQ) without crashing;
//   - the lexer alone reaches EOF within as many tokens as the input has bytes.
//
// Build: clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -I. \
//          tests/fuzz/influxql_fuzz.cc rules/lexer.cc rules/parser*.cc \
//          rules/statement_text.cc store/status.cc
// Run:   ./influxql_fuzz -max_total_time=60 tests/fuzz/corpus/influxql
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "rules/lexer.h"
#include "rules/parser.h"
#include "rules/statement_text.h"

namespace tidewatch::rules {
namespace {

void Check(bool ok, const char* what, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "check failed: %s: '%.*s'\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void ValidateSelects(const Query& query) {
  for (const Statement& statement : query.statements) {
    if (const auto* select = std::get_if<SelectStatement>(&statement)) {
      ValidateSelect(*select).IgnoreError();
    } else if (const auto* cq = std::get_if<CreateContinuousQuery>(&statement)) {
      ValidateSelect(cq->select).IgnoreError();
    }
  }
}

void CheckLexerTerminates(std::string_view text) {
  // Only inputs the parser accepts as text reach the lexer (valid UTF-8, bounded size).
  Lexer lexer(text);
  for (std::size_t i = 0; i <= text.size() + 1; ++i) {
    if (lexer.Next().kind == TokenKind::kEof) return;
  }
  Check(false, "lexer did not reach EOF", text);
}

}  // namespace
}  // namespace tidewatch::rules

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tidewatch::rules;  // NOLINT(build/namespaces): a fuzz entry point
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tidewatch::StatusOr<Query> query = ParseQuery(text);
  if (!query.ok()) {
    Check(query.status().code() == tidewatch::StatusCode::kInvalidArgument, "error code");
    Check(query.status().message().starts_with("error parsing query: "), "error prefix",
          query.status().message());
    if (query.status().message().find("invalid UTF-8") == std::string::npos &&
        query.status().message().find("query too long") == std::string::npos) {
      CheckLexerTerminates(text);
    }
    return 0;
  }
  CheckLexerTerminates(text);
  ValidateSelects(*query);
  const std::string printed = ToString(*query);
  tidewatch::StatusOr<Query> again = ParseQuery(printed);
  Check(again.ok(), again.ok() ? "" : again.status().message().c_str(), printed);
  Check(again->statements.size() == query->statements.size(), "statement count", printed);
  Check(ToString(*again) == printed, "printing is not a fixed point", printed);
  return 0;
}
