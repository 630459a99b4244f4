#include "rules/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "rules/statement_text.h"

namespace tidewatch::rules {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

std::string Normalise(std::string_view text) {
  StatusOr<Query> query = ParseQuery(text);
  if (!query.ok()) return "ERROR " + query.status().message();
  return ToString(*query);
}

std::string ParseError(std::string_view text) {
  StatusOr<Query> query = ParseQuery(text);
  if (query.ok()) return "no error, parsed as: " + ToString(*query);
  EXPECT_EQ(query.status().code(), StatusCode::kInvalidArgument);
  return query.status().message();
}

// Parses a single SELECT and runs ValidateSelect(): "" when valid.
std::string CompileError(std::string_view text) {
  StatusOr<Statement> statement = ParseStatement(text);
  if (!statement.ok()) return "parse error: " + statement.status().message();
  const auto* select = std::get_if<SelectStatement>(&*statement);
  if (select == nullptr) return "not a SELECT";
  return ValidateSelect(*select).message();
}

SelectStatement ParseSelect(std::string_view text) {
  StatusOr<Statement> statement = ParseStatement(text);
  EXPECT_TRUE(statement.ok()) << text << ": " << statement.status().ToString();
  if (!statement.ok()) return {};
  return std::get<SelectStatement>(*statement);
}

struct Golden {
  std::string_view in;
  std::string_view out;
};

// Input -> InfluxDB's normalised text. "=" means the input is already normalised.
constexpr Golden kGolden[] = {
    // fields, identifiers, quoting
    {"SELECT value FROM cpu", "="},
    {"select Value from Cpu", "SELECT Value FROM Cpu"},
    {"sElEcT vAlUe FrOm cpu wHeRe a = 1 GrOuP bY host",
     "SELECT vAlUe FROM cpu WHERE a = 1 GROUP BY host"},
    {"SELECT * FROM cpu", "="},
    {"SELECT *::field, *::tag FROM cpu", "="},
    {"SELECT v::float, v::integer, v::unsigned, v::string, v::boolean, v::field, h::tag FROM m",
     "="},
    {R"(SELECT "select", "a b", "a\"b", "", "1abc", "_ok", "new\nline" FROM "from")",
     R"(SELECT "select", "a b", "a\"b", "", "1abc", _ok, "new\nline" FROM "from")"},
    {R"(SELECT "température", "time" FROM "测量")", R"(SELECT "température", time FROM "测量")"},
    {"SELECT value AS v, x AS \"from\" FROM cpu", "SELECT value AS v, x AS \"from\" FROM cpu"},
    {R"(SELECT "a"."b" FROM m)", R"(SELECT "a.b" FROM m)"},
    {"SELECT v FROM \"name\"", "SELECT v FROM \"name\""},
    {"SELECT (v) FROM m", "SELECT v FROM m"},
    // calls
    {R"(SELECT MEAN("value") FROM "cpu")", "SELECT mean(value) FROM cpu"},
    {"SELECT mean(value) AS avg FROM cpu", "="},
    {"SELECT DISTINCT host FROM cpu", "SELECT distinct(host) FROM cpu"},
    {"SELECT count(DISTINCT(host)) FROM cpu", "SELECT count(distinct(host)) FROM cpu"},
    {"SELECT percentile(value, 95) FROM cpu", "="},
    {"SELECT percentile(value, 99.9) FROM cpu", "SELECT percentile(value, 99.900) FROM cpu"},
    {"SELECT top(value, host, 3), count(*) FROM cpu", "="},
    {"SELECT max(/^v/), /^w/ FROM cpu", "="},
    {R"(SELECT "mean"(v), "my fn"(v) FROM m)", R"(SELECT mean(v), "my fn"(v) FROM m)"},
    {"SELECT derivative(mean(value), 1s) FROM cpu WHERE time > now() - 1h GROUP BY time(10s)", "="},
    {"SELECT abs(v), round(mean(v) * 2) FROM m", "="},
    // arithmetic and precedence
    {"SELECT a + b * c, (a + b) * c, a - (b - c), a - b - c, a / b / c, a % 2 FROM m", "="},
    {"SELECT (a * b) + c, a * (b / c), ((a)) FROM m", "SELECT a * b + c, a * (b / c), a FROM m"},
    {"SELECT -value, +value, -(a + b), - 5, -1.5, a - -1, -1h FROM m",
     "SELECT -1 * value, 1 * value, -1 * (a + b), -5, -1.500, a - -1, -1h FROM m"},
    {"SELECT v * 1.5, v * .5, v * 2., v * 0.0001, v * 100, v * 1234567.125 FROM m",
     "SELECT v * 1.500, v * 0.500, v * 2.000, v * 0.0001, v * 100, v * 1234567.125 FROM m"},
    {"SELECT count(value) / 2 FROM m", "="},
    // WHERE
    {"SELECT v FROM m WHERE v > 9223372036854775807 OR v < -9223372036854775808", "="},
    {R"(SELECT v FROM m WHERE s = 'it\'s' OR s = 'a\\b' OR s = 'line\nbreak' OR s = 'q\"q')",
     R"(SELECT v FROM m WHERE s = 'it\'s' OR s = 'a\\b' OR s = 'line\nbreak' OR s = 'q"q')"},
    {"SELECT v FROM m WHERE b = TRUE OR b = false", "SELECT v FROM m WHERE b = true OR b = false"},
    {"SELECT v FROM m WHERE time > now() - 90s AND time < now() + 1h30m",
     "SELECT v FROM m WHERE time > now() - 90s AND time < now() + 90m"},
    {"SELECT v FROM m WHERE d IN (1w) OR t > 7d OR t > 24h OR t > 60m OR t > 60s", "ERROR"},
    {"SELECT v FROM m WHERE a > 7d + 24h + 60m + 60s + 1000ms + 1000u + 1000\xC2\xB5 + 1000ns",
     "SELECT v FROM m WHERE a > 1w + 1d + 1h + 1m + 1s + 1ms + 1ms + 1u"},
    {"SELECT v FROM m WHERE a > 36h + 2000ns + 0s + 1500ms",
     "SELECT v FROM m WHERE a > 36h + 2u + 0s + 1500ms"},
    {R"(SELECT v FROM m WHERE host =~ /^a\/b$/ AND host !~ /\d+\.\d+/)", "="},
    {"SELECT v FROM m WHERE a = 1 OR b = 2 AND c = 3", "="},
    {"SELECT v FROM m WHERE (a = 1 OR b = 2) AND c = 3", "="},
    {"SELECT v FROM m WHERE a = 1 AND (b = 2 AND c = 3)", "="},
    {"SELECT v FROM m WHERE (a = 1 AND b = 2) AND c = 3",
     "SELECT v FROM m WHERE a = 1 AND b = 2 AND c = 3"},
    {"SELECT v FROM m WHERE a <> 'x'", "SELECT v FROM m WHERE a != 'x'"},
    {"SELECT v FROM m WHERE a < 1 AND b <= 2 AND c > 3 AND d >= 4 AND e != 5", "="},
    {"SELECT v FROM m WHERE a = b = c", "="},
    {"SELECT v FROM m WHERE (a = b) = c", "SELECT v FROM m WHERE a = b = c"},
    {"SELECT v FROM m WHERE a = (b = c)", "="},
    {"SELECT v FROM m WHERE (a =~ /x/) = true", "SELECT v FROM m WHERE a =~ /x/ = true"},
    {"SELECT v FROM m WHERE time >= '2020-01-01T00:00:00Z' AND time < now()", "="},
    {"SELECT v FROM m WHERE time > 1600000000000000000 AND host = 'a'", "="},
    {"SELECT v FROM m WHERE a = 'x' AND (b = 'y' OR c = 'z')", "="},
    {"SELECT v FROM m WHERE abs(v) > 1.5e", "ERROR"},
    // whitespace and comments
    {"SELECT /* fields */ value -- trailing\nFROM cpu", "SELECT value FROM cpu"},
    {"SELECT value\n  FROM cpu\n  WHERE host = 'a'", "SELECT value FROM cpu WHERE host = 'a'"},
    {"SELECT\tv\r\nFROM\tm", "SELECT v FROM m"},
    {"SELECT value FROM cpu /* after a source */", "SELECT value FROM cpu"},
    // sources and INTO
    {R"(SELECT v FROM db.rp.cpu, db..mem, rp.disk, /^net/, db.rp./^x/, "my db"."my rp"."my m")",
     "="},
    {"SELECT v FROM \"db\"..\"mem\", db../re/", "SELECT v FROM db..mem, db../re/"},
    {"SELECT mean(v) INTO db.rp.out FROM cpu GROUP BY time(1m)", "="},
    {"SELECT v INTO out FROM cpu", "="},
    {"SELECT v INTO rp.:measurement FROM /.*/", "SELECT v INTO rp.:MEASUREMENT FROM /.*/"},
    {"SELECT v INTO \"my db\".rp.:MEASUREMENT FROM cpu", "="},
    // GROUP BY, fill, ORDER BY, limits
    {"SELECT mean(v) FROM m GROUP BY time(1m), host, \"region\"",
     "SELECT mean(v) FROM m GROUP BY time(1m), host, region"},
    {"SELECT mean(v) FROM m GROUP BY *", "="},
    {"SELECT mean(v) FROM m GROUP BY /^h/, time(1h, 15m)", "="},
    {"SELECT mean(v) FROM m GROUP BY time(1h, -15m)", "="},
    {"SELECT mean(v) FROM m GROUP BY time(1m) fill(null)",
     "SELECT mean(v) FROM m GROUP BY time(1m)"},
    {"SELECT mean(v) FROM m GROUP BY time(1m) fill(none)", "="},
    {"SELECT mean(v) FROM m GROUP BY time(1m) FILL(previous)",
     "SELECT mean(v) FROM m GROUP BY time(1m) fill(previous)"},
    {"SELECT mean(v) FROM m GROUP BY time(1m) fill(linear)", "="},
    {"SELECT mean(v) FROM m GROUP BY time(1m) fill(0)", "="},
    {"SELECT mean(v) FROM m GROUP BY time(1m) fill(-1)", "="},
    {"SELECT mean(v) FROM m GROUP BY time(1m) fill(1.5)", "="},
    {"SELECT mean(v) FROM m GROUP BY time(1m) fill(2.0)",
     "SELECT mean(v) FROM m GROUP BY time(1m) fill(2)"},
    {"SELECT mean(v) FROM m GROUP BY time(1m) fill(\"none\")",
     "SELECT mean(v) FROM m GROUP BY time(1m) fill(none)"},
    {"SELECT v FROM m ORDER BY time DESC", "="},
    {"SELECT v FROM m ORDER BY time ASC", "SELECT v FROM m"},
    {"SELECT v FROM m ORDER BY desc", "SELECT v FROM m ORDER BY time DESC"},
    {"SELECT v FROM m LIMIT 10 OFFSET 5 SLIMIT 2 SOFFSET 1", "="},
    {"SELECT v FROM m LIMIT 0 OFFSET 0", "SELECT v FROM m"},
    {"SELECT v FROM m LIMIT 99999999999999999999", "SELECT v FROM m LIMIT 9223372036854775807"},
    {"SELECT mean(v) FROM m WHERE time > now() - 1h GROUP BY time(1m) fill(0) ORDER BY time DESC "
     "LIMIT 1 SLIMIT 1",
     "="},
    // several statements
    {"SELECT a FROM b; SELECT c FROM d;", "SELECT a FROM b;\nSELECT c FROM d"},
    {";;SELECT a FROM b;;", "SELECT a FROM b"},
    {"", ""},
    {"  -- only a comment\n ; ", ""},
    // SHOW
    {"SHOW DATABASES", "="},
    {"show measurements", "SHOW MEASUREMENTS"},
    {"SHOW MEASUREMENTS ON db WITH MEASUREMENT = cpu WHERE host = 'a' LIMIT 10 OFFSET 2", "="},
    {"SHOW MEASUREMENTS WITH MEASUREMENT =~ /^c/ LIMIT 100", "="},
    {"SHOW MEASUREMENTS WITH MEASUREMENT = /^c/", "SHOW MEASUREMENTS WITH MEASUREMENT =~ /^c/"},
    {"SHOW TAG KEYS", "="},
    {"SHOW TAG KEYS ON db FROM cpu, mem WHERE host = 'a' LIMIT 5 OFFSET 1", "="},
    {"SHOW TAG VALUES WITH KEY = host", "="},
    {"SHOW TAG VALUES ON db FROM cpu WITH KEY <> \"host\" WHERE region = 'eu' LIMIT 1 OFFSET 2",
     "SHOW TAG VALUES ON db FROM cpu WITH KEY != host WHERE region = 'eu' LIMIT 1 OFFSET 2"},
    {"SHOW TAG VALUES FROM cpu WITH KEY IN (host, \"region\", \"select\")",
     "SHOW TAG VALUES FROM cpu WITH KEY IN (host, region, \"select\")"},
    {"SHOW TAG VALUES WITH KEY !~ /^h/", "="},
    {"SHOW TAG VALUES WITH KEY =~ /^h/ ORDER BY time DESC", "SHOW TAG VALUES WITH KEY =~ /^h/"},
    {"SHOW FIELD KEYS", "="},
    {"SHOW FIELD KEYS ON db FROM cpu LIMIT 2", "="},
    {"SHOW SERIES", "="},
    {"SHOW SERIES ON db FROM cpu WHERE host = 'a' LIMIT 10 OFFSET 5", "="},
    {"SHOW RETENTION POLICIES", "="},
    {"SHOW RETENTION POLICIES ON \"my db\"", "="},
    {"SHOW CONTINUOUS QUERIES", "="},
    // CREATE / DROP / DELETE
    {"CREATE DATABASE foo", "="},
    {"create database \"select\"", "CREATE DATABASE \"select\""},
    {"DROP DATABASE foo", "="},
    {"DROP MEASUREMENT \"my m\"", "="},
    {"DROP SERIES FROM cpu WHERE host = 'a'", "="},
    {"DROP SERIES WHERE host = 'a'", "="},
    {"DROP SERIES FROM cpu, /^m/", "="},
    {"DELETE FROM cpu", "="},
    {"DELETE WHERE time < '2020-01-01T00:00:00Z'", "="},
    {"DELETE FROM rp.cpu WHERE a = 'b'", "="},
    {"CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO out FROM cpu GROUP BY time(1m) "
     "END",
     "="},
    {"CREATE CONTINUOUS QUERY \"my cq\" ON db RESAMPLE EVERY 1m BEGIN SELECT mean(v) INTO out FROM "
     "cpu "
     "GROUP BY time(1m), * END",
     "="},
    {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE FOR 2h BEGIN SELECT max(v) INTO rp.:MEASUREMENT "
     "FROM /.*/ "
     "GROUP BY time(30m) fill(none) END",
     "="},
    {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 30s FOR 90s BEGIN SELECT count(v) INTO o "
     "FROM m "
     "GROUP BY time(60s) END",
     "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 30s FOR 90s BEGIN SELECT count(v) INTO o "
     "FROM m "
     "GROUP BY time(1m) END"},
    {"CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT v INTO out FROM cpu END", "="},
    {"DROP CONTINUOUS QUERY cq ON db", "="},
};

TEST(ParserTest, GoldenNormalisedText) {
  for (const Golden& g : kGolden) {
    const std::string got = Normalise(g.in);
    if (g.out == "ERROR") {
      EXPECT_THAT(got, StartsWith("ERROR ")) << g.in;
    } else {
      EXPECT_EQ(got, g.out == "=" ? g.in : g.out) << g.in;
    }
  }
}

// Printing is a fixed point: what ToString() prints parses back to a tree that prints
// the same text.
TEST(ParserTest, GoldenTextRoundTrips) {
  for (const Golden& g : kGolden) {
    StatusOr<Query> first = ParseQuery(g.in);
    if (!first.ok()) continue;
    const std::string text = ToString(*first);
    StatusOr<Query> second = ParseQuery(text);
    ASSERT_TRUE(second.ok()) << text << ": " << second.status().ToString();
    EXPECT_EQ(ToString(*second), text);
  }
}

struct ErrorCase {
  std::string_view in;
  std::string_view message;  // without the "error parsing query: " prefix
};

constexpr ErrorCase kErrors[] = {
    // InfluxDB's own test expectations (influxql parser_test.go), positions included.
    {"SELECT", "found EOF, expected identifier, string, number, bool at line 1, char 8"},
    {"select *", "found EOF, expected FROM at line 1, char 9"},
    {"select * from", "found EOF, expected identifier at line 1, char 15"},
    {"SELECT field1 AS", "found EOF, expected identifier at line 1, char 18"},
    {"SELECT field1 FROM myseries ORDER BY time ASC,",
     "found EOF, expected identifier at line 1, char 47"},
    {"SELECT field1 FROM myseries ORDER BY 1",
     "found 1, expected identifier, ASC, DESC at line 1, char 38"},
    {"SELECT field1 FROM myseries ORDER BY time, field1",
     "only ORDER BY time supported at this time"},
    {R"(SELECT field1 FROM "series" WHERE X +;)",
     "found ;, expected identifier, string, number, bool at line 1, char 38"},
    {"SELECT field1 FROM 12", "found 12, expected identifier at line 1, char 20"},
    {"CREATE DATABASE foo CREATE DATABASE bar", "found CREATE, expected ; at line 1, char 21"},
    {"SELECT * FORM m", "found FORM, expected FROM at line 1, char 10"},
    // statements
    {"FOO", "found FOO, expected SELECT, DELETE, SHOW, CREATE, DROP at line 1, char 1"},
    {"GRANT ALL TO bob",
     "found GRANT, expected SELECT, DELETE, SHOW, CREATE, DROP at line 1, char 1"},
    {"SHOW FOO",
     "found FOO, expected CONTINUOUS, DATABASES, FIELD, MEASUREMENTS, RETENTION, SERIES, TAG at "
     "line 1, char 6"},
    {"SHOW TAG FOO", "found FOO, expected KEYS, VALUES at line 1, char 10"},
    {"SHOW TAG VALUES FROM cpu", "found EOF, expected WITH at line 1, char 26"},
    {"SHOW TAG VALUES WITH KEY host", "found host, expected IN, =, =~ at line 1, char 26"},
    {"SHOW TAG VALUES WITH KEY =~ host", "found host, expected regex at line 1, char 29"},
    {"SHOW MEASUREMENTS WITH MEASUREMENT != cpu", "found !=, expected =, =~ at line 1, char 36"},
    {"SHOW RETENTION", "found EOF, expected POLICIES at line 1, char 16"},
    {"CREATE USER x", "found USER, expected CONTINUOUS, DATABASE at line 1, char 8"},
    {"CREATE DATABASE db WITH DURATION 1h",
     "CREATE DATABASE ... WITH is not supported at line 1, char 20"},
    {"DROP FOO", "found FOO, expected CONTINUOUS, DATABASE, MEASUREMENT, SERIES at line 1, char 6"},
    {"DELETE", "found EOF, expected FROM, WHERE at line 1, char 8"},
    {"DROP SERIES", "found EOF, expected FROM, WHERE at line 1, char 13"},
    {"DELETE FROM db.rp.cpu", "database not supported at line 1, char 8"},
    {"DROP SERIES FROM rp.cpu", "retention policy not supported at line 1, char 13"},
    {"DROP CONTINUOUS QUERY cq", "found EOF, expected ON at line 1, char 26"},
    // CREATE CONTINUOUS QUERY
    {"CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) FROM m GROUP BY time(1m) END",
     "found FROM, expected INTO at line 1, char 55"},
    {"CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO o FROM m END",
     "found END, expected GROUP BY time(...) at line 1, char 69"},
    {"CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO o FROM m GROUP BY time(x) END",
     "found END, expected GROUP BY time(...), time dimension must have duration argument at line "
     "1, "
     "char 86"},
    {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE FOR 30s BEGIN SELECT mean(v) INTO o FROM m GROUP "
     "BY "
     "time(1m) END",
     "FOR duration must be >= GROUP BY time duration: must be a minimum of 1m, got 30s"},
    {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE BEGIN SELECT v INTO o FROM m END",
     "found BEGIN, expected EVERY, FOR at line 1, char 43"},
    {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 1 BEGIN SELECT v INTO o FROM m END",
     "found 1, expected duration at line 1, char 49"},
    // multi-line and multi-statement positions
    {"SELECT value\nFROM cpu\nWHERE host = 'a' AND\n  region = )",
     "found ), expected identifier, string, number, bool at line 4, char 12"},
    {"SELECT a FROM b; SELECT c FROM", "found EOF, expected identifier at line 1, char 32"},
    {"SELECT a FROM b;\n\nSHOW TAG KEYS FROM", "found EOF, expected identifier at line 3, char 20"},
    {"SELECT a FROM b SELECT", "found SELECT, expected ; at line 1, char 17"},
    // literals
    {"SELECT 'unterminated FROM x",
     "found 'unterminated FROM x, expected identifier, string, number, bool at line 1, char 8"},
    {"SELECT \"unterminated FROM x",
     "found \"unterminated FROM x, expected identifier, string, number, bool at line 1, char 8"},
    {"SELECT 'bad \\q escape' FROM x",
     "found \\q, expected identifier, string, number, bool at line 1, char 14"},
    {"SELECT 10abc FROM m", "invalid duration"},
    {"SELECT v FROM m WHERE time > now() - 9223372036854775807h",
     "overflowed duration 9223372036854775807h: choose a smaller duration or INF"},
    {"SELECT 9223372036854775808 FROM m", "unable to parse integer at line 1, char 8"},
    {"SELECT -9223372036854775809 FROM m", "constant -9223372036854775809 underflows int64"},
    {"SELECT v::foo FROM m",
     "found foo, expected float, integer, unsigned, string, boolean, field, tag at line 1, char "
     "11"},
    {"SELECT *::foo FROM m", "found foo, expected field, tag at line 1, char 11"},
    {"SELECT v FROM m WHERE a = $x",
     "found $, expected identifier, string, number, bool at line 1, char 27"},
    {"SELECT v FROM m WHERE a = - 'x'",
     "found x, expected identifier, number, duration, ( at line 1, char 29"},
    {"SELECT DISTINCT 5 FROM m", "found 5, expected identifier at line 1, char 17"},
    {"SELECT v FROM m\x01", "found \\x01, expected ; at line 1, char 16"},
    // regexes
    {"SELECT v FROM m WHERE a =~ 'x'", "found x, expected regex at line 1, char 28"},
    {"SELECT v FROM m WHERE a =~ /abc", "bad regex: unterminated regex at line 1, char 28"},
    {"SELECT v FROM m WHERE a =~ /a\nb/",
     "bad regex: regex contains a new line at line 1, char 28"},
    // clauses
    {"SELECT v FROM m LIMIT -1", "found -, expected integer at line 1, char 23"},
    {"SELECT v FROM m OFFSET x", "found x, expected integer at line 1, char 24"},
    {"SELECT v FROM m ORDER BY host", "only ORDER BY time supported at this time"},
    {"SELECT v FROM m GROUP host", "found host, expected BY at line 1, char 23"},
    {"SELECT v FROM m fill(none", "found EOF, expected ) at line 1, char 27"},
    {"SELECT v FROM m fill(1, 2)",
     "fill requires an argument, e.g.: 0, null, none, previous, linear"},
    {"SELECT v FROM m fill('x')", "expected number argument in fill()"},
    {"SELECT v FROM m fill(NONE)", "expected number argument in fill()"},
    {"SELECT v FROM m fill + 1", "fill must be a function call"},
    {"SELECT v = 1 FROM m",
     "invalid operator = in SELECT clause at line 1, char 8; operator is intended for WHERE "
     "clause"},
    {"SELECT a, mean(b) AND c FROM m",
     "invalid operator AND in SELECT clause at line 1, char 11; operator is intended for WHERE "
     "clause"},
    {"SELECT v FROM m tz('UTC')", "tz() is not supported at line 1, char 17"},
    {"SELECT v FROM (SELECT v FROM m)", "subqueries are not supported at line 1, char 15"},
    {"SELECT v FROM a.b.c.d", "too many segments in \"a\".\"b\".\"c\".d at line 1, char 15"},
    {"SELECT v FROM m WHERE a = 1 /* open",
     "found unterminated /* comment, expected ; at line 1, char 29"},
    {"SELECT v FROM m WHERE (a = 1", "found EOF, expected ) at line 1, char 29"},
    {"SELECT mean (v) FROM m", "found (, expected FROM at line 1, char 13"},
    {"SELECT '\xff' FROM m", "invalid UTF-8 at line 1, char 9"},
};

TEST(ParserTest, ParseErrorsHaveInfluxDbMessagesAndPositions) {
  for (const ErrorCase& c : kErrors) {
    EXPECT_EQ(ParseError(c.in), "error parsing query: " + std::string(c.message)) << c.in;
  }
}

TEST(ParserTest, InvalidRegexIsAParseError) {
  EXPECT_THAT(ParseError("SELECT v FROM m WHERE a =~ /(/"),
              AllOf(StartsWith("error parsing query: error parsing regexp: "),
                    EndsWith(" at line 1, char 28")));
  EXPECT_THAT(ParseError("SELECT v FROM /[/"),
              StartsWith("error parsing query: error parsing regexp: "));
}

TEST(ParserTest, HostileInputIsBounded) {
  EXPECT_EQ(ParseError(std::string(kMaxQueryBytes + 1, ' ')),
            "error parsing query: query too long (1048577 bytes, limit 1048576)");
  std::string many;
  for (int i = 0; i <= kMaxStatements; ++i) many += "SHOW DATABASES;";
  EXPECT_EQ(ParseError(many),
            "error parsing query: too many statements (limit 100) at line 1, char 1501");

  const std::string parens =
      "SELECT " + std::string(5000, '(') + "v" + std::string(5000, ')') + " FROM m";
  EXPECT_THAT(ParseError(parens),
              StartsWith("error parsing query: expression nested too deeply (limit"));
  std::string calls = "SELECT ";
  for (int i = 0; i < 5000; ++i) calls += "abs(";
  EXPECT_THAT(ParseError(calls + "v"),
              StartsWith("error parsing query: expression nested too deeply"));

  std::string chain = "SELECT v FROM m WHERE a = 1";
  for (int i = 0; i < 2000; ++i) chain += " OR a = 1";
  EXPECT_THAT(ParseError(chain),
              StartsWith("error parsing query: expression too deep (limit 1000)"));
  std::string grafana = "SELECT v FROM m WHERE host = 'h0'";
  for (int i = 1; i < 500; ++i) grafana += " OR host = 'h" + std::to_string(i) + "'";
  EXPECT_TRUE(ParseQuery(grafana).ok());

  EXPECT_THAT(ParseError("SELECT v FROM /" + std::string(kMaxRegexBytes + 1, 'a') + "/"),
              StartsWith("error parsing query: regex too long"));
  EXPECT_THAT(ParseError("SELECT v FROM /" + std::string(100, '(') + std::string(100, ')') + "/"),
              StartsWith("error parsing query: regex nested too deeply"));
  // Patterns std::regex would compile into huge automata, or mis-parse (RE2 refuses
  // them as well).
  EXPECT_EQ(ParseError("SELECT v FROM /a{1001}/"),
            "error parsing query: error parsing regexp: invalid repeat count at line 1, char 15");
  EXPECT_EQ(ParseError("SELECT v FROM /a{2222222222222222222}/"),
            "error parsing query: error parsing regexp: invalid repeat count at line 1, char 15");
  EXPECT_EQ(ParseError("SELECT v FROM /(a{1000}){1000}/"),
            "error parsing query: regex too large at line 1, char 15");
  EXPECT_EQ(ParseError("SELECT v FROM /(a)\\1/"),
            "error parsing query: error parsing regexp: invalid escape sequence: `\\1` "
            "(back-references are not supported) at line 1, char 15");
  EXPECT_TRUE(ParseQuery("SELECT v FROM /^a{2,5}[{(]x{3,}$/").ok());
  // The longest regex accepted compiles without exhausting the stack.
  EXPECT_TRUE(ParseQuery("SELECT v FROM /" + std::string(kMaxRegexBytes, 'a') + "/").ok());
}

struct CompileCase {
  std::string_view in;
  std::string_view message;  // "" when valid
};

constexpr CompileCase kCompile[] = {
    {"SELECT mean(v) FROM m WHERE time > now() - 1h GROUP BY time(1m, 30s), host fill(linear)", ""},
    {"SELECT max(v), host FROM m", ""},
    {"SELECT v, host, v * 2 + 1, abs(v) FROM m", ""},
    {"SELECT derivative(mean(v), 1s) FROM m GROUP BY time(1m)", ""},
    {"SELECT non_negative_derivative(v) FROM m", ""},
    {"SELECT top(v, host, 3) FROM m", ""},
    {"SELECT count(distinct(host)), percentile(v, 95) FROM m", ""},
    {"SELECT mean(*), count(/^v/) FROM m GROUP BY *", ""},
    {"SELECT time, v FROM m WHERE abs(v) > 1 AND time > now() - 1h", ""},
    {"SELECT time FROM m", "at least 1 non-time field must be queried"},
    {"SELECT v, mean(v) FROM m", "mixing aggregate and non-aggregate queries is not supported"},
    {"SELECT v FROM m GROUP BY time(1m)", "GROUP BY requires at least one aggregate function"},
    {"SELECT foo(v) FROM m", "undefined function foo()"},
    {"SELECT mean(v, 2) FROM m", "invalid number of arguments for mean, expected 1, got 2"},
    {"SELECT percentile(v) FROM m",
     "invalid number of arguments for percentile, expected 2, got 1"},
    {"SELECT percentile(v, 'a') FROM m", "expected float argument in percentile()"},
    {"SELECT derivative(v, 1s, 2) FROM m",
     "invalid number of arguments for derivative, expected at least 1 but no more than 2, got 3"},
    {"SELECT derivative(v, 5) FROM m",
     "second argument to derivative must be a duration, got *influxql.IntegerLiteral"},
    {"SELECT derivative(v, -1s) FROM m", "duration argument must be positive, got -1s"},
    {"SELECT derivative(mean(v)) FROM m", "derivative aggregate requires a GROUP BY interval"},
    {"SELECT derivative(v) FROM m GROUP BY time(1m)",
     "aggregate function required inside the call to derivative"},
    {"SELECT difference(v, 1) FROM m",
     "invalid number of arguments for difference, expected 1, got 2"},
    {"SELECT moving_average(v, 1) FROM m", "moving_average window must be greater than 1, got 1"},
    {"SELECT mean(v) FROM m GROUP BY time(1m), time(2m)", "multiple time dimensions not allowed"},
    {"SELECT mean(v) FROM m GROUP BY time",
     "time() is a function and expects at least one argument"},
    {"SELECT mean(v) FROM m GROUP BY time(host)", "time dimension must have duration argument"},
    {"SELECT mean(v) FROM m GROUP BY time()", "time dimension expected 1 or 2 arguments"},
    {"SELECT mean(v) FROM m GROUP BY time(0s)",
     "time dimension must have a positive duration argument"},
    {"SELECT mean(v) FROM m GROUP BY time(1m, now())",
     "time dimension offset now() is not supported"},
    {"SELECT mean(v) FROM m GROUP BY time(1m, 'x')",
     "time dimension offset must be duration or now()"},
    {"SELECT mean(v) FROM m GROUP BY foo(1m)", "only time() calls allowed in dimensions"},
    {"SELECT mean(v) FROM m GROUP BY 'x'", "only time and tag dimensions allowed"},
    {"SELECT v FROM m fill(none)", "fill(none) must be used with a function"},
    {"SELECT v FROM m WHERE mean(v) > 1", "invalid function call in condition: mean(v)"},
    {"SELECT v FROM m WHERE pow(v) > 1", "invalid number of arguments for pow, expected 2, got 1"},
    {"SELECT mean(*) + 1 FROM m", "unsupported expression with wildcard: mean()"},
    {"SELECT * + 1 FROM m", "unable to use wildcard in a binary expression"},
    {"SELECT 1 + 2 FROM m", "cannot perform a binary expression on two literals"},
    {"SELECT 'a' FROM m", "field must contain at least one variable"},
    {"SELECT mean('a') FROM m", "expected field argument in mean()"},
    {"SELECT top(v, 0) FROM m", "limit (0) in top function must be at least 1"},
    {"SELECT top(v, 3) FROM m LIMIT 2",
     "limit (3) in top function can not be larger than the LIMIT (2) in the select statement"},
    {"SELECT top(v, 1), mean(v) FROM m",
     "selector function top() cannot be combined with other functions"},
    {"SELECT distinct(v), v FROM m",
     "aggregate function distinct() cannot be combined with other functions or fields"},
    {"SELECT first(v), last(v), host FROM m",
     "mixing multiple selector functions with tags or fields is not supported"},
};

TEST(ParserTest, ValidateSelectReportsInfluxDbCompileErrors) {
  for (const CompileCase& c : kCompile) EXPECT_EQ(CompileError(c.in), c.message) << c.in;
}

TEST(ParserTest, SelectTree) {
  const SelectStatement s = ParseSelect(
      "SELECT mean(v) AS m INTO db.rp.out FROM db.rp./^c/, cpu WHERE host =~ /^A/ "
      "GROUP BY time(1h, -90m), host, *, /^r/ fill(7) ORDER BY time DESC LIMIT 1 OFFSET 2 "
      "SLIMIT 3 SOFFSET 4");
  ASSERT_EQ(s.fields.size(), 1u);
  EXPECT_EQ(s.fields[0].alias, "m");
  ASSERT_TRUE(s.into);
  EXPECT_EQ(s.into->database + "|" + s.into->retention_policy + "|" + s.into->measurement,
            "db|rp|out");
  ASSERT_EQ(s.sources.size(), 2u);
  EXPECT_EQ(s.sources[0].database + "|" + s.sources[0].retention_policy, "db|rp");
  ASSERT_TRUE(s.sources[0].regex);
  EXPECT_TRUE(std::regex_search("cpu", *s.sources[0].regex->compiled));
  EXPECT_EQ(s.sources[1].name, "cpu");
  ASSERT_EQ(s.dimensions.size(), 4u);
  EXPECT_EQ(s.dimensions[0].kind, Dimension::Kind::kTime);
  EXPECT_EQ(s.dimensions[0].interval_ns, 3'600'000'000'000);
  EXPECT_EQ(s.dimensions[0].offset_ns, -1'800'000'000'000);  // -90m % 1h, sign kept
  EXPECT_EQ(s.dimensions[1].kind, Dimension::Kind::kTag);
  EXPECT_EQ(s.dimensions[1].tag, "host");
  EXPECT_EQ(s.dimensions[2].kind, Dimension::Kind::kWildcard);
  EXPECT_EQ(s.dimensions[3].kind, Dimension::Kind::kRegex);
  EXPECT_EQ(s.fill.kind, FillKind::kValue);
  EXPECT_TRUE(s.fill.written && s.fill.value_is_integer);
  EXPECT_EQ(s.fill.integer_value, 7);
  EXPECT_EQ(s.fill.value, 7.0);
  EXPECT_TRUE(s.order_desc);
  EXPECT_EQ(s.limit + s.offset * 10 + s.slimit * 100 + s.soffset * 1000, 4321);
  ASSERT_TRUE(s.condition);
  const auto* cond = s.condition->As<BinaryExpr>();
  ASSERT_NE(cond, nullptr);
  EXPECT_EQ(cond->op, BinaryOp::kEqRegex);
  EXPECT_FALSE(std::regex_search("abc", *cond->rhs->As<RegexLiteral>()->regex.compiled));
  EXPECT_EQ(ParseSelect("SELECT v FROM m").fill, Fill{});
}

TEST(ParserTest, UnaryMinusAndLiterals) {
  const SelectStatement s = ParseSelect("SELECT -v, -2, -2.5, -1s, 'x', true, 3 FROM m");
  ASSERT_EQ(s.fields.size(), 7u);
  const auto* neg = s.fields[0].expr.As<BinaryExpr>();
  ASSERT_NE(neg, nullptr);
  EXPECT_EQ(neg->op, BinaryOp::kMul);
  EXPECT_EQ(*neg->lhs, Expr{IntegerLiteral{-1}});
  EXPECT_EQ(*neg->rhs, (Expr{VarRef{"v", VarType::kAny}}));
  EXPECT_EQ(s.fields[1].expr, Expr{IntegerLiteral{-2}});
  EXPECT_EQ(s.fields[2].expr, Expr{NumberLiteral{-2.5}});
  EXPECT_EQ(s.fields[3].expr, Expr{DurationLiteral{-1'000'000'000}});
  EXPECT_EQ(s.fields[4].expr, Expr{StringLiteral{"x"}});
  EXPECT_EQ(s.fields[5].expr, Expr{BooleanLiteral{true}});
  EXPECT_EQ(s.fields[6].expr, Expr{IntegerLiteral{3}});
}

TEST(ParserTest, ShowAndCqTrees) {
  StatusOr<Query> q = ParseQuery(
      "SHOW TAG VALUES ON db FROM cpu WITH KEY IN (a, b) WHERE x = 'y' LIMIT 2;"
      "SHOW TAG VALUES WITH KEY =~ /^h/;"
      "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 2m FOR 1h BEGIN SELECT mean(v) INTO o "
      "FROM m GROUP BY time(30m) END");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->statements.size(), 3u);
  const auto& tv = std::get<ShowTagValues>(q->statements[0]);
  EXPECT_EQ(tv.on_db, "db");
  EXPECT_EQ(tv.op, TagKeyOp::kIn);
  EXPECT_EQ(tv.keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(tv.where.has_value());
  EXPECT_EQ(tv.limit, 2);
  const auto& tr = std::get<ShowTagValues>(q->statements[1]);
  EXPECT_EQ(tr.op, TagKeyOp::kEqRegex);
  ASSERT_TRUE(tr.key_regex);
  EXPECT_TRUE(std::regex_search("host", *tr.key_regex->compiled));
  const auto& cq = std::get<CreateContinuousQuery>(q->statements[2]);
  EXPECT_EQ(cq.name + "|" + cq.db, "cq|db");
  EXPECT_EQ(cq.resample_every_ns, 120'000'000'000);
  EXPECT_EQ(cq.resample_for_ns, 3'600'000'000'000);
  EXPECT_EQ(cq.select.dimensions[0].interval_ns, 1'800'000'000'000);
}

TEST(ParserTest, CaseInsensitiveRegexFlag) {
  const SelectStatement s = ParseSelect("SELECT v FROM /(?i)^CPU$/");
  ASSERT_TRUE(s.sources[0].regex);
  EXPECT_TRUE(std::regex_search("cpu", *s.sources[0].regex->compiled));
  EXPECT_EQ(s.sources[0].regex->source, "(?i)^CPU$");
}

TEST(ParserTest, ParseStatementAndParseExpr) {
  EXPECT_TRUE(ParseStatement("SHOW DATABASES;").ok());
  EXPECT_EQ(ParseStatement("SHOW DATABASES; SHOW DATABASES").status().message(),
            "error parsing query: found SHOW, expected EOF at line 1, char 17");
  EXPECT_EQ(
      ParseStatement("").status().message(),
      "error parsing query: found EOF, expected SELECT, DELETE, SHOW, CREATE, DROP at line 1, "
      "char 1");
  StatusOr<Expr> e = ParseExpr("value > 10 AND host =~ /^a/");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(ToString(*e), "value > 10 AND host =~ /^a/");
  EXPECT_EQ(ParseExpr("a b").status().message(),
            "error parsing query: found b, expected EOF at line 1, char 3");
}

TEST(ParserTest, TreesCopyDeeplyAndCompareStructurally) {
  const SelectStatement a = ParseSelect("SELECT mean(v) + 1 FROM m WHERE a = 1 OR b =~ /x/");
  SelectStatement b = a;
  EXPECT_EQ(a, b);
  b.fields[0].expr.As<BinaryExpr>()->rhs->As<IntegerLiteral>()->value = 2;
  EXPECT_NE(a, b);
  EXPECT_EQ(ToString(a), "SELECT mean(v) + 1 FROM m WHERE a = 1 OR b =~ /x/");
}

// ---- random trees: print, parse back, compare structurally -------------------------

class RandomExpr {
 public:
  explicit RandomExpr(std::uint32_t seed) : rng_(seed) {}

  // Regex literals parse only where the grammar tries one: a whole call argument or the
  // right-hand side of =~ and !~ (a field, dimension or source too, not used here).
  Expr Make(int depth, bool regex_ok = false) {
    int pick = Uniform(0, depth <= 0 ? 8 : 12);
    if (pick == 7 && !regex_ok) pick = 5;
    switch (pick) {
      case 0:
        return Expr{NumberLiteral{Pick<double>({0.0, 0.1, -2.5, 1e-7, 123456.789, 1e20, -0.0})}};
      case 1:
        return Expr{IntegerLiteral{
            Pick<std::int64_t>({0, 1, -1, 42, std::numeric_limits<std::int64_t>::max(),
                                std::numeric_limits<std::int64_t>::min()})}};
      case 2:
        return Expr{StringLiteral{Pick<std::string>({"", "a'b", "c\\d", "x\ny", "\xC3\xA9\t\r"})}};
      case 3:
        return Expr{BooleanLiteral{Uniform(0, 1) == 1}};
      case 4:
        return Expr{DurationLiteral{Pick<std::int64_t>({0, 1, -1'000, 90'000'000'000, 1'234'567})}};
      case 5:
        return Expr{VarRef{Pick<std::string>({"v", "time", "a b", "select", "", "x.y", "q\""}),
                           static_cast<VarType>(Uniform(0, 7))}};
      case 6:
        return Expr{Wildcard{Pick<VarType>({VarType::kAny, VarType::kField, VarType::kTag})}};
      case 7:
        return Expr{MakeRegexLiteral()};
      case 8: {
        Call call{Pick<std::string>({"mean", "now", "distinct", "my fn", "select", "percentile"}),
                  {}};
        const int n = depth <= 0 ? 0 : Uniform(0, 3);
        for (int i = 0; i < n; ++i) call.args.push_back(Make(depth - 1, /*regex_ok=*/true));
        return Expr{std::move(call)};
      }
      default: {
        const auto op = static_cast<BinaryOp>(Uniform(0, 14));
        Expr rhs = op == BinaryOp::kEqRegex || op == BinaryOp::kNeqRegex ? Expr{MakeRegexLiteral()}
                                                                         : Make(depth - 1);
        return Expr{BinaryExpr{op, Box<Expr>(Make(depth - 1)), Box<Expr>(std::move(rhs))}};
      }
    }
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <class T>
  T Pick(std::initializer_list<T> values) {
    return *(values.begin() + Uniform(0, static_cast<int>(values.size()) - 1));
  }
  RegexLiteral MakeRegexLiteral() {
    const std::string source = Pick<std::string>({"^a$", "a/b", "\\d+", "x\\/y", "(?i)cpu"});
    std::string_view pattern = source;
    auto flags = std::regex::ECMAScript;
    if (pattern.starts_with("(?i)")) {
      pattern.remove_prefix(4);
      flags |= std::regex::icase;
    }
    return RegexLiteral{
        Regex{source, std::make_shared<const std::regex>(pattern.begin(), pattern.end(), flags)}};
  }
  std::mt19937 rng_;
};

TEST(ParserTest, RandomExpressionsRoundTripThroughText) {
  RandomExpr gen(20260101);
  for (int i = 0; i < 3000; ++i) {
    const Expr expr = gen.Make(5);
    const std::string text = ToString(expr);
    StatusOr<Expr> back = ParseExpr(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status().ToString();
    EXPECT_EQ(*back, expr) << text << " reprinted as " << ToString(*back);
  }
}

}  // namespace
}  // namespace tidewatch::rules
