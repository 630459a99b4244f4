#include "daemon/internal/toml_guard.h"

namespace tidewatch::daemon::internal {

std::uint32_t FindOverlyDottedLine(std::string_view text) {
  enum class State { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  State state = State::kCode;
  std::uint32_t line = 1;
  std::size_t dots = 0;
  auto at = [&text](std::size_t i, std::string_view s) { return text.substr(i, s.size()) == s; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      dots = 0;
      // Single-line strings and comments end here (an unterminated string is a
      // syntax error the parser reports).
      if (state != State::kMultiBasic && state != State::kMultiLiteral) state = State::kCode;
      continue;
    }
    switch (state) {
      case State::kCode:
        if (c == '#') {
          state = State::kComment;
        } else if (at(i, "\"\"\"")) {
          state = State::kMultiBasic;
          i += 2;
        } else if (at(i, "'''")) {
          state = State::kMultiLiteral;
          i += 2;
        } else if (c == '"') {
          state = State::kBasic;
        } else if (c == '\'') {
          state = State::kLiteral;
        } else if (c == '.' && ++dots > kMaxDotsPerLine) {
          return line;
        }
        break;
      case State::kComment:
        break;
      case State::kBasic:
      case State::kMultiBasic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;  // an escaped character, possibly a quote
        } else if (state == State::kBasic && c == '"') {
          state = State::kCode;
        } else if (state == State::kMultiBasic && at(i, "\"\"\"")) {
          state = State::kCode;
          i += 2;
        }
        break;
      case State::kLiteral:
        if (c == '\'') state = State::kCode;
        break;
      case State::kMultiLiteral:
        if (at(i, "'''")) {
          state = State::kCode;
          i += 2;
        }
        break;
    }
  }
  return 0;
}

}  // namespace tidewatch::daemon::internal
