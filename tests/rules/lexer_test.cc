#include "rules/lexer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tidewatch::rules {
namespace {

// "KIND:text@line:col" per token up to and including EOF, space separated.
std::string Scan(std::string_view text) {
  Lexer lexer(text);
  std::string out;
  for (int i = 0; i < 100; ++i) {
    const Token t = lexer.Next();
    if (!out.empty()) out += ' ';
    out += std::string(TokenKindName(t.kind)) + ":" + t.text + "@" + std::to_string(t.pos.line) +
           ":" + std::to_string(t.pos.column);
    if (t.kind == TokenKind::kEof) break;
  }
  return out;
}

TEST(LexerTest, KeywordsAreCaseInsensitiveAndIdentifiersKeepTheirText) {
  EXPECT_EQ(Scan("select Value fRoM cpu_1 _x"),
            "SELECT:@1:1 IDENT:Value@1:8 FROM:@1:14 IDENT:cpu_1@1:19 IDENT:_x@1:25 EOF:@1:28");
}

TEST(LexerTest, QuotedIdentifiersAreNeverKeywords) {
  EXPECT_EQ(Scan(R"("select" "a \"b\" \\ \n")"),
            "IDENT:select@1:1 IDENT:a \"b\" \\ \n@1:10 EOF:@1:25");
}

TEST(LexerTest, Operators) {
  EXPECT_EQ(Scan("+ - * / % = != <> < <= > >= =~ !~ ( ) , ; . : ::"),
            "+:@1:1 -:@1:3 *:@1:5 /:@1:7 %:@1:9 =:@1:11 !=:@1:13 !=:@1:16 <:@1:19 <=:@1:21 "
            ">:@1:24 >=:@1:26 =~:@1:29 !~:@1:32 (:@1:35 ):@1:37 ,:@1:39 ;:@1:41 .:@1:43 "
            "::@1:45 :::@1:47 EOF:@1:49");
}

TEST(LexerTest, NumbersIntegersAndDurations) {
  EXPECT_EQ(Scan("12 1.5 .5 2. 1h30m 10u 10\xC2\xB5 500ms 10abc"),
            "INTEGER:12@1:1 NUMBER:1.5@1:4 NUMBER:.5@1:8 NUMBER:2@1:11 DURATIONVAL:1h30m@1:14 "
            "DURATIONVAL:10u@1:20 DURATIONVAL:10\xC2\xB5@1:24 DURATIONVAL:500ms@1:28 "
            "DURATIONVAL:10abc@1:34 EOF:@1:39");
}

TEST(LexerTest, StringsAndTheirEscapes) {
  EXPECT_EQ(Scan(R"('it\'s' 'a\\b' 'q"q' 'x\ny')"),
            "STRING:it's@1:1 STRING:a\\b@1:9 STRING:q\"q@1:16 STRING:x\ny@1:22 EOF:@1:28");
}

TEST(LexerTest, BadStringsAndEscapes) {
  EXPECT_EQ(Scan("'abc"), "BADSTRING:'abc@1:1 EOF:@1:6");
  EXPECT_EQ(Scan("'ab\ncd'"), "BADSTRING:'ab@1:1 IDENT:cd@2:1 BADSTRING:'@2:3 EOF:@2:5");
  EXPECT_EQ(Scan(R"('a\qb')"), "BADESCAPE:\\q@1:4 IDENT:b@1:5 BADSTRING:'@1:6 EOF:@1:8");
}

TEST(LexerTest, CommentsAreWhitespace) {
  EXPECT_EQ(Scan("a -- note\nb /* x\ny */ c"), "IDENT:a@1:1 IDENT:b@2:1 IDENT:c@3:6 EOF:@3:8");
  EXPECT_EQ(Scan("a /* open"), "IDENT:a@1:1 ILLEGAL:unterminated /* comment@1:3 EOF:@1:10");
}

TEST(LexerTest, PositionsCountCodePointsAndLines) {
  EXPECT_EQ(Scan("\"\xC3\xA9t\xC3\xA9\" x\r\n\ty"),
            "IDENT:\xC3\xA9t\xC3\xA9@1:1 IDENT:x@1:7 "
            "IDENT:y@2:2 EOF:@2:4");
}

TEST(LexerTest, EofIsOneFurtherAfterAScanReadPastTheEnd) {
  // As InfluxDB's reader: after an identifier or trailing blanks the EOF is reported one
  // character further than after punctuation, a number or a string.
  EXPECT_EQ(Scan("a"), "IDENT:a@1:1 EOF:@1:3");
  EXPECT_EQ(Scan("a "), "IDENT:a@1:1 EOF:@1:4");
  EXPECT_EQ(Scan("*"), "*:@1:1 EOF:@1:2");
  EXPECT_EQ(Scan("1"), "INTEGER:1@1:1 EOF:@1:2");
  EXPECT_EQ(Scan("'s'"), "STRING:s@1:1 EOF:@1:4");
}

TEST(LexerTest, IllegalCharactersAreReportedReadably) {
  EXPECT_EQ(Scan("$x & \x01"),
            "ILLEGAL:$@1:1 IDENT:x@1:2 ILLEGAL:&@1:4 ILLEGAL:\\x01@1:6 EOF:@1:7");
  EXPECT_EQ(Scan("!"), "ILLEGAL:!@1:1 EOF:@1:2");
}

TEST(LexerTest, SpaceBeforeIsTracked) {
  Lexer lexer("f(x) g (y)");
  std::vector<bool> spaces;
  for (Token t = lexer.Next(); t.kind != TokenKind::kEof; t = lexer.Next()) {
    spaces.push_back(t.space_before);
  }
  EXPECT_EQ(spaces, (std::vector<bool>{false, false, false, false, true, true, false, false}));
}

TEST(LexerTest, ResetRescansFromAState) {
  Lexer lexer("a b");
  const Token a = lexer.Next();
  const Token b = lexer.Next();
  lexer.Reset(b.before);
  EXPECT_EQ(lexer.Next().text, "b");
  lexer.Reset(a.before);
  EXPECT_EQ(lexer.Next().text, "a");
}

std::string Regex(std::string_view text) {
  Lexer lexer(text);
  Token t;
  if (!lexer.ScanRegex(t)) return "none, next " + FoundText(lexer.Next());
  return std::string(TokenKindName(t.kind)) + ":" + t.text + "@" + std::to_string(t.pos.column) +
         " then " + FoundText(lexer.Next());
}

TEST(LexerTest, ScanRegex) {
  EXPECT_EQ(Regex("  /^a.*$/ x"), "STRING:^a.*$@3 then x");
  EXPECT_EQ(Regex(R"(/a\/b\d/)"), R"(STRING:a/b\d@1 then EOF)");
  // As InfluxDB: a backslash before a backslash is kept and the second one may still
  // escape a slash, so this regex is not closed by its second slash.
  EXPECT_EQ(Regex(R"(/a\\/b/)"), R"(STRING:a\/b@1 then EOF)");
  EXPECT_EQ(Regex("/abc"), "BADSTRING:unterminated regex@1 then EOF");
  EXPECT_EQ(Regex("/a\nb/"), "BADSTRING:regex contains a new line@1 then b");
  EXPECT_EQ(Regex("x"), "none, next x");
  EXPECT_EQ(Regex("/* comment */ x"), "none, next x");
}

TEST(LexerTest, ParseDurationUnits) {
  struct Case {
    std::string_view text;
    std::int64_t ns;
  };
  const Case cases[] = {
      {"1ns", 1},
      {"1u", 1'000},
      {"1\xC2\xB5", 1'000},
      {"1ms", 1'000'000},
      {"1s", 1'000'000'000},
      {"1m", 60'000'000'000},
      {"1h", 3'600'000'000'000},
      {"1d", 86'400'000'000'000},
      {"1w", 604'800'000'000'000},
      {"1h30m", 5'400'000'000'000},
      {"1m1s1ms1u1ns", 61'001'001'001},
      {"-10s", -10'000'000'000},
      {"0s", 0},
  };
  for (const Case& c : cases) {
    const StatusOr<std::int64_t> ns = ParseDuration(c.text);
    ASSERT_TRUE(ns.ok()) << c.text << ": " << ns.status().ToString();
    EXPECT_EQ(*ns, c.ns) << c.text;
  }
}

TEST(LexerTest, ParseDurationErrors) {
  for (std::string_view bad : {"", "1", "h", "1x", "1n", "10\xC2\xB5s", "1h30", "ms", "1.5h",
                               "99999999999999999999s", "--1s"}) {
    const StatusOr<std::int64_t> ns = ParseDuration(bad);
    ASSERT_FALSE(ns.ok()) << bad;
    EXPECT_EQ(ns.status().message(), "invalid duration") << bad;
  }
  const StatusOr<std::int64_t> big = ParseDuration("9223372036854775807h");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(),
            "overflowed duration 9223372036854775807h: choose a smaller duration or INF");
  EXPECT_FALSE(ParseDuration("15251w").ok());  // just past int64 nanoseconds
  EXPECT_TRUE(ParseDuration("15250w").ok());
}

TEST(LexerTest, KeywordNames) {
  EXPECT_TRUE(IsKeyword("select"));
  EXPECT_TRUE(IsKeyword("Name"));
  EXPECT_TRUE(IsKeyword("TRUE"));
  EXPECT_FALSE(IsKeyword("time"));
  EXPECT_FALSE(IsKeyword("value"));
  EXPECT_FALSE(IsKeyword("selects"));
  EXPECT_EQ(TokenKindName(TokenKind::kSubscriptions), "SUBSCRIPTIONS");
  EXPECT_EQ(TokenKindName(TokenKind::kEof), "EOF");
}

}  // namespace
}  // namespace tidewatch::rules
