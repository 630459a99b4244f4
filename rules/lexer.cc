#include "rules/lexer.h"

#include <array>
#include <cctype>
#include <limits>

namespace tidewatch::rules {
namespace {

struct KeywordEntry {
  std::string_view text;
  TokenKind kind;
};

constexpr std::array kKeywords = {
#define TW_KEYWORD_ENTRY(name, text) KeywordEntry{text, TokenKind::k##name},
    TW_INFLUXQL_KEYWORDS(TW_KEYWORD_ENTRY)
#undef TW_KEYWORD_ENTRY
};

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsLetter(c) || IsDigit(c) || c == '_'; }
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The micro sign U+00B5 as UTF-8.
constexpr std::string_view kMicro = "\xC2\xB5";

// Keyword kind of `ident` (ASCII case-insensitive), or kIdent.
TokenKind LookupKeyword(std::string_view ident) {
  if (ident.size() > 13) return TokenKind::kIdent;  // longer than any keyword
  for (const KeywordEntry& k : kKeywords) {
    if (k.text.size() != ident.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < ident.size() && same; ++i) {
      same = std::toupper(static_cast<unsigned char>(ident[i])) == k.text[i];
    }
    if (same) return k.kind;
  }
  return TokenKind::kIdent;
}

}  // namespace

std::string_view TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kIllegal:
      return "ILLEGAL";
    case TokenKind::kEof:
      return "EOF";
    case TokenKind::kIdent:
      return "IDENT";
    case TokenKind::kNumber:
      return "NUMBER";
    case TokenKind::kInteger:
      return "INTEGER";
    case TokenKind::kDurationVal:
      return "DURATIONVAL";
    case TokenKind::kString:
      return "STRING";
    case TokenKind::kBadString:
      return "BADSTRING";
    case TokenKind::kBadEscape:
      return "BADESCAPE";
    case TokenKind::kAdd:
      return "+";
    case TokenKind::kSub:
      return "-";
    case TokenKind::kMul:
      return "*";
    case TokenKind::kDiv:
      return "/";
    case TokenKind::kMod:
      return "%";
    case TokenKind::kEq:
      return "=";
    case TokenKind::kNeq:
      return "!=";
    case TokenKind::kEqRegex:
      return "=~";
    case TokenKind::kNeqRegex:
      return "!~";
    case TokenKind::kLt:
      return "<";
    case TokenKind::kLte:
      return "<=";
    case TokenKind::kGt:
      return ">";
    case TokenKind::kGte:
      return ">=";
    case TokenKind::kLParen:
      return "(";
    case TokenKind::kRParen:
      return ")";
    case TokenKind::kComma:
      return ",";
    case TokenKind::kColon:
      return ":";
    case TokenKind::kDoubleColon:
      return "::";
    case TokenKind::kSemicolon:
      return ";";
    case TokenKind::kDot:
      return ".";
    default:
      break;
  }
  for (const KeywordEntry& k : kKeywords) {
    if (k.kind == kind) return k.text;
  }
  return "ILLEGAL";
}

std::string FoundText(const Token& token) {
  if (!token.text.empty()) return token.text;
  return std::string(TokenKindName(token.kind));
}

bool IsKeyword(std::string_view ident) { return LookupKeyword(ident) != TokenKind::kIdent; }

StatusOr<std::int64_t> ParseDuration(std::string_view text) {
  const Status invalid(StatusCode::kInvalidArgument, "invalid duration");
  if (text.size() < 2) return invalid;
  std::size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) ++i;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const Status overflow(StatusCode::kInvalidArgument, "overflowed duration " + std::string(text) +
                                                          ": choose a smaller duration or INF");
  std::int64_t total = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    std::int64_t n = 0;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      const int digit = text[i] - '0';
      if (n > (kMax - digit) / 10) return invalid;  // InfluxDB: the number must parse
      n = n * 10 + digit;
    }
    if (i == start || i >= text.size()) return invalid;
    std::int64_t unit = 0;
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("ns")) {
      unit = 1, i += 2;
    } else if (rest.starts_with("ms")) {
      unit = 1'000'000, i += 2;
    } else if (rest.starts_with(kMicro)) {
      unit = 1'000, i += kMicro.size();
    } else {
      switch (rest[0]) {
        case 'u':
          unit = 1'000;
          break;
        case 's':
          unit = 1'000'000'000;
          break;
        case 'm':
          unit = 60'000'000'000;
          break;
        case 'h':
          unit = 3'600'000'000'000;
          break;
        case 'd':
          unit = 86'400'000'000'000;
          break;
        case 'w':
          unit = 604'800'000'000'000;
          break;
        default:
          return invalid;
      }
      ++i;
    }
    if (n > kMax / unit) return overflow;
    const std::int64_t part = n * unit;
    if (total > kMax - part) return overflow;
    total += part;
  }
  return negative ? -total : total;
}

// ---- Lexer ---------------------------------------------------------------------

void Lexer::Advance() {
  const unsigned char c = static_cast<unsigned char>(src_[state_.offset]);
  ++state_.offset;
  if (c == '\n') {
    ++state_.pos.line;
    state_.pos.column = 1;
    return;
  }
  // Continuation bytes of a multi-byte character do not count as columns.
  if (c >= 0xC0) {
    while (state_.offset < src_.size() &&
           (static_cast<unsigned char>(src_[state_.offset]) & 0xC0) == 0x80) {
      ++state_.offset;
    }
  }
  ++state_.pos.column;
}

bool Lexer::SkipBlanks(bool comments, Position& unterminated) {
  while (state_.offset < src_.size()) {
    const char c = src_[state_.offset];
    const char next = state_.offset + 1 < src_.size() ? src_[state_.offset + 1] : '\0';
    if (IsBlank(c)) {
      Advance();
      read_past_end_ = read_past_end_ || state_.offset == src_.size();
    } else if (comments && c == '-' && next == '-') {
      while (state_.offset < src_.size() && src_[state_.offset] != '\n') Advance();
      read_past_end_ = read_past_end_ || state_.offset == src_.size();
    } else if (comments && c == '/' && next == '*') {
      unterminated = state_.pos;
      Advance();
      Advance();
      for (;;) {
        if (state_.offset >= src_.size()) return false;
        if (src_[state_.offset] == '*' && state_.offset + 1 < src_.size() &&
            src_[state_.offset + 1] == '/') {
          Advance();
          Advance();
          break;
        }
        Advance();
      }
    } else {
      break;
    }
  }
  return true;
}

Token Lexer::Next() {
  Token token;
  token.before = state_;
  Position comment_start;
  const bool closed = SkipBlanks(/*comments=*/true, comment_start);
  token.space_before = state_.offset != token.before.offset;
  token.pos = state_.pos;
  if (!closed) {
    token.kind = TokenKind::kIllegal;
    token.text = "unterminated /* comment";
    token.pos = comment_start;
    return token;
  }
  if (state_.offset >= src_.size()) {
    token.kind = TokenKind::kEof;
    // InfluxDB's reader reports EOF one character further once a scan has read past
    // the end (an identifier, blanks or a regex lookahead at the end of the text).
    if (read_past_end_) ++token.pos.column;
    return token;
  }
  const char c = src_[state_.offset];
  Token scanned;
  if (IsLetter(c) || c == '_') {
    scanned = ScanIdentOrKeyword();
  } else if (IsDigit(c) ||
             (c == '.' && state_.offset + 1 < src_.size() && IsDigit(src_[state_.offset + 1]))) {
    scanned = ScanNumber();
  } else if (c == '"' || c == '\'') {
    scanned = ScanQuoted(c);
  } else {
    scanned = ScanOperator();
  }
  scanned.before = token.before;
  scanned.space_before = token.space_before;
  if (scanned.kind != TokenKind::kBadEscape) scanned.pos = token.pos;
  return scanned;
}

Token Lexer::ScanIdentOrKeyword() {
  const std::size_t start = state_.offset;
  while (state_.offset < src_.size() && IsIdentChar(src_[state_.offset])) Advance();
  read_past_end_ = read_past_end_ || state_.offset == src_.size();
  const std::string_view ident = src_.substr(start, state_.offset - start);
  Token token;
  token.kind = LookupKeyword(ident);
  if (token.kind == TokenKind::kIdent) token.text = std::string(ident);
  return token;
}

// A 'string' or a "quoted identifier" with InfluxDB's escapes.
Token Lexer::ScanQuoted(char quote) {
  Token token;
  token.kind = quote == '"' ? TokenKind::kIdent : TokenKind::kString;
  Advance();  // the opening quote
  for (;;) {
    if (state_.offset >= src_.size() || src_[state_.offset] == '\n') {
      read_past_end_ = read_past_end_ || state_.offset >= src_.size();
      token.text = std::string(1, quote) + token.text;
      token.kind = TokenKind::kBadString;
      return token;
    }
    const char c = src_[state_.offset];
    if (c == quote) {
      Advance();
      return token;
    }
    if (c != '\\') {
      const std::size_t from = state_.offset;
      Advance();
      token.text.append(src_.substr(from, state_.offset - from));
      continue;
    }
    Advance();  // the backslash
    const char e = state_.offset < src_.size() ? src_[state_.offset] : '\0';
    switch (e) {
      case 'n':
        token.text.push_back('\n');
        break;
      case '\\':
      case '"':
      case '\'':
        token.text.push_back(e);
        break;
      default: {
        token.kind = TokenKind::kBadEscape;
        token.pos = state_.pos;
        const std::size_t from = state_.offset;
        if (state_.offset < src_.size()) Advance();
        token.text = "\\" + std::string(src_.substr(from, state_.offset - from));
        return token;
      }
    }
    Advance();
  }
}

Token Lexer::ScanNumber() {
  const std::size_t start = state_.offset;
  Token token;
  token.kind = TokenKind::kInteger;
  while (state_.offset < src_.size() && IsDigit(src_[state_.offset])) Advance();
  if (state_.offset < src_.size() && src_[state_.offset] == '.') {
    // "1." is the number 1 (InfluxDB consumes the dot).
    token.kind = TokenKind::kNumber;
    Advance();
    while (state_.offset < src_.size() && IsDigit(src_[state_.offset])) Advance();
    std::string digits(src_.substr(start, state_.offset - start));
    if (digits.back() == '.') digits.pop_back();
    token.text = std::move(digits);
    return token;
  }
  // Digits followed by letters (or µ): a duration; letters and digits may alternate.
  auto unit_char = [this](bool digits_too) {
    if (state_.offset >= src_.size()) return std::size_t{0};
    const char c = src_[state_.offset];
    if (IsLetter(c) || (digits_too && IsDigit(c))) return std::size_t{1};
    return src_.substr(state_.offset).starts_with(kMicro) ? kMicro.size() : std::size_t{0};
  };
  if (unit_char(false) != 0) {
    token.kind = TokenKind::kDurationVal;
    while (unit_char(true) != 0) Advance();
  }
  token.text = std::string(src_.substr(start, state_.offset - start));
  return token;
}

Token Lexer::ScanOperator() {
  const char c = src_[state_.offset];
  const char next = state_.offset + 1 < src_.size() ? src_[state_.offset + 1] : '\0';
  Token token;
  auto one = [&](TokenKind kind) {
    Advance();
    token.kind = kind;
    return token;
  };
  auto two = [&](TokenKind kind) {
    Advance();
    Advance();
    token.kind = kind;
    return token;
  };
  switch (c) {
    case '+':
      return one(TokenKind::kAdd);
    case '-':
      return one(TokenKind::kSub);
    case '*':
      return one(TokenKind::kMul);
    case '/':
      return one(TokenKind::kDiv);
    case '%':
      return one(TokenKind::kMod);
    case '(':
      return one(TokenKind::kLParen);
    case ')':
      return one(TokenKind::kRParen);
    case ',':
      return one(TokenKind::kComma);
    case ';':
      return one(TokenKind::kSemicolon);
    case '.':
      return one(TokenKind::kDot);
    case '=':
      return next == '~' ? two(TokenKind::kEqRegex) : one(TokenKind::kEq);
    case '>':
      return next == '=' ? two(TokenKind::kGte) : one(TokenKind::kGt);
    case '<':
      if (next == '=') return two(TokenKind::kLte);
      if (next == '>') return two(TokenKind::kNeq);
      return one(TokenKind::kLt);
    case ':':
      return next == ':' ? two(TokenKind::kDoubleColon) : one(TokenKind::kColon);
    case '!':
      if (next == '=') return two(TokenKind::kNeq);
      if (next == '~') return two(TokenKind::kNeqRegex);
      break;
    default:
      break;
  }
  const std::size_t from = state_.offset;
  Advance();
  token.kind = TokenKind::kIllegal;
  token.text = std::string(src_.substr(from, state_.offset - from));
  if (token.text.size() == 1 && std::iscntrl(static_cast<unsigned char>(c))) {
    constexpr char kHex[] = "0123456789abcdef";
    const auto u = static_cast<unsigned char>(c);
    token.text = std::string("\\x") + kHex[u >> 4] + kHex[u & 15];
  }
  return token;
}

bool Lexer::ScanRegex(Token& out) {
  const LexerState start = state_;
  Position unused;
  (void)SkipBlanks(/*comments=*/false, unused);
  read_past_end_ = read_past_end_ || state_.offset == src_.size();
  // "/*" opens a comment: no regex starts with a repetition operator anyway.
  if (PeekChar() != '/' || src_.substr(state_.offset).starts_with("/*")) {
    state_ = start;
    return false;
  }
  out = Token{};
  out.kind = TokenKind::kString;
  out.pos = state_.pos;
  Advance();  // the opening slash
  // InfluxDB's ScanDelimited: `\/` is a slash; any other backslash is kept and the
  // character after it is scanned normally (so `\\/` is a backslash then a slash).
  for (;;) {
    if (state_.offset >= src_.size()) {
      out.kind = TokenKind::kBadString;
      out.text = "unterminated regex";
      return true;
    }
    const char c = src_[state_.offset];
    if (c == '\n') {
      out.kind = TokenKind::kBadString;
      out.text = "regex contains a new line";
      return true;
    }
    if (c == '/') {
      Advance();
      return true;
    }
    if (c == '\\' && state_.offset + 1 < src_.size() && src_[state_.offset + 1] == '/') {
      Advance();
      Advance();
      out.text.push_back('/');
      continue;
    }
    const std::size_t from = state_.offset;
    Advance();
    out.text.append(src_.substr(from, state_.offset - from));
  }
}

}  // namespace tidewatch::rules
