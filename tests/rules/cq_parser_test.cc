// CREATE CONTINUOUS QUERY with tidewatch's RESAMPLE ... LATE REEMIT|IGNORE extension:
// trees, normalised text and errors with their positions.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "rules/parser.h"
#include "rules/statement_text.h"

namespace tidewatch::rules {
namespace {

constexpr std::string_view kSelect = " BEGIN SELECT mean(v) INTO o FROM m GROUP BY time(1m) END";

std::string Normalise(std::string_view text) {
  StatusOr<Query> query = ParseQuery(text);
  if (!query.ok()) return "ERROR " + query.status().message();
  return ToString(*query);
}

CreateContinuousQuery ParseCq(std::string_view text) {
  StatusOr<Statement> statement = ParseStatement(text);
  EXPECT_TRUE(statement.ok()) << statement.status().ToString();
  if (!statement.ok()) return {};
  return std::get<CreateContinuousQuery>(*statement);
}

TEST(CqParserTest, LatePolicyTree) {
  const std::string base = "CREATE CONTINUOUS QUERY cq ON db RESAMPLE ";
  CreateContinuousQuery cq = ParseCq(base + "EVERY 30s FOR 2m LATE IGNORE" + std::string(kSelect));
  EXPECT_EQ(cq.resample_every_ns, 30'000'000'000);
  EXPECT_EQ(cq.resample_for_ns, 120'000'000'000);
  EXPECT_EQ(cq.late, CqLatePolicy::kIgnore);
  EXPECT_EQ(ParseCq(base + "late reemit" + std::string(kSelect)).late, CqLatePolicy::kReemit);
  EXPECT_EQ(ParseCq(base + "EVERY 1m" + std::string(kSelect)).late, CqLatePolicy::kDefault);
  EXPECT_EQ(ParseCq("CREATE CONTINUOUS QUERY cq ON db" + std::string(kSelect)).late,
            CqLatePolicy::kDefault);
}

TEST(CqParserTest, NormalisedTextRoundTrips) {
  const std::string base = "CREATE CONTINUOUS QUERY cq ON db RESAMPLE ";
  const std::string tail = " BEGIN SELECT mean(v) INTO o FROM m GROUP BY time(1m) END";
  EXPECT_EQ(Normalise(base + "LATE ignore" + tail), base + "LATE IGNORE" + tail);
  EXPECT_EQ(Normalise(base + "EVERY 60s late Reemit" + tail), base + "EVERY 1m LATE REEMIT" + tail);
  EXPECT_EQ(Normalise(base + "FOR 2m LATE IGNORE" + tail), base + "FOR 2m LATE IGNORE" + tail);
  const std::string normal = Normalise(base + "EVERY 1m FOR 1h LATE IGNORE" + tail);
  EXPECT_EQ(Normalise(normal), normal);
  // `late` stays an ordinary identifier elsewhere.
  EXPECT_EQ(Normalise("SELECT late FROM ignore"), "SELECT late FROM ignore");
}

TEST(CqParserTest, ErrorsHavePositions) {
  struct Case {
    std::string_view in;
    std::string_view error;
  };
  const Case cases[] = {
      {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE LATE BEGIN SELECT mean(v) INTO o FROM m "
       "GROUP BY time(1m) END",
       "found BEGIN, expected REEMIT, IGNORE at line 1, char 48"},
      {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE LATE sometimes BEGIN SELECT v INTO o FROM m "
       "END",
       "found sometimes, expected REEMIT, IGNORE at line 1, char 48"},
      {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE LATE 'ignore' BEGIN SELECT v INTO o FROM m END",
       "found ignore, expected REEMIT, IGNORE at line 1, char 48"},
      {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE LATE",
       "found EOF, expected REEMIT, IGNORE at line 1, char 48"},
      // LATE comes last.
      {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE LATE IGNORE EVERY 1m BEGIN SELECT v INTO o "
       "FROM m END",
       "found EVERY, expected BEGIN at line 1, char 55"},
      {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 1m LATE IGNORE LATE REEMIT BEGIN",
       "found LATE, expected BEGIN at line 1, char 64"},
      {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE FOR 1m LATE\nIGNORE BEGIN SELECT mean(v) INTO o "
       "FROM m GROUP BY time(1h) END",
       "FOR duration must be >= GROUP BY time duration: must be a minimum of 1h, got 1m"},
      {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE\n  LATE\n  never BEGIN",
       "found never, expected REEMIT, IGNORE at line 3, char 3"},
      {"CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 1m LATE IGNORE BEGIN SELECT mean(v) "
       "INTO o FROM m END",
       "found END, expected GROUP BY time(...) at line 1, char 99"},
  };
  for (const Case& c : cases) {
    StatusOr<Query> query = ParseQuery(c.in);
    ASSERT_FALSE(query.ok()) << c.in;
    EXPECT_EQ(query.status().message(), "error parsing query: " + std::string(c.error)) << c.in;
  }
}

TEST(CqParserTest, HostileInputIsRefused) {
  // Many LATE clauses, a very long policy word, control bytes: errors, never crashes.
  std::string repeated = "CREATE CONTINUOUS QUERY cq ON db RESAMPLE";
  for (int i = 0; i < 10'000; ++i) repeated += " LATE IGNORE";
  EXPECT_FALSE(ParseQuery(repeated).ok());
  const std::string long_word =
      "CREATE CONTINUOUS QUERY cq ON db RESAMPLE LATE " + std::string(100'000, 'x') + " BEGIN";
  EXPECT_FALSE(ParseQuery(long_word).ok());
  EXPECT_FALSE(ParseQuery(std::string("CREATE CONTINUOUS QUERY cq ON db RESAMPLE LATE \x01")).ok());
}

}  // namespace
}  // namespace tidewatch::rules
