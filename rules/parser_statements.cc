// SHOW, CREATE (CREATE CONTINUOUS QUERY too), DROP and DELETE statements (SELECT is
// in parser_select.cc). Keyword lists in errors name only the forms tidewatch runs.
#include <string>
#include <utility>
#include <vector>

#include "rules/parser_impl.h"
#include "rules/statement_text.h"

namespace tidewatch::rules::internal {
namespace {

// DROP SERIES and DELETE: [FROM sources] [WHERE condition], at least one of them, and
// no database (nor, for DROP SERIES, retention policy) in the sources.
template <class T>
bool ParseSeriesFilter(Parser& p, T& out, bool allow_policy) {
  const Token first = p.Next();
  if (first.kind == TokenKind::kFrom) {
    if (!p.ParseSources(out.sources)) return false;
    for (const Source& source : out.sources) {
      if (!source.database.empty()) return p.FailAt("database not supported", first.pos);
      if (!allow_policy && !source.retention_policy.empty()) {
        return p.FailAt("retention policy not supported", first.pos);
      }
    }
  } else {
    p.Unscan(first);
  }
  if (!p.ParseCondition(out.where)) return false;
  if (out.sources.empty() && !out.where) return p.Fail(first, {"FROM", "WHERE"});
  return true;
}

// The tidewatch extension [LATE REEMIT | LATE IGNORE] at the end of RESAMPLE. The words
// are not InfluxQL keywords, so they arrive as identifiers (any case).
bool ParseLatePolicy(Parser& p, CqLatePolicy& out) {
  const Token late = p.Next();
  if (late.kind != TokenKind::kIdent || Lower(late.text) != "late") {
    p.Unscan(late);
    return true;
  }
  const Token policy = p.Next();
  const std::string word = policy.kind == TokenKind::kIdent ? Lower(policy.text) : "";
  if (word == "reemit") {
    out = CqLatePolicy::kReemit;
  } else if (word == "ignore") {
    out = CqLatePolicy::kIgnore;
  } else {
    return p.Fail(policy, {"REEMIT", "IGNORE"});
  }
  return true;
}

}  // namespace

bool Parser::ParseShow(Statement& out) {
  const Token token = Next();
  switch (token.kind) {
    case TokenKind::kContinuous:
      if (!Expect(TokenKind::kQueries)) return false;
      out = ShowContinuousQueries{};
      return true;
    case TokenKind::kDatabases:
      out = ShowDatabases{};
      return true;
    case TokenKind::kField: {
      ShowFieldKeys show;
      bool desc = false;  // ORDER BY is accepted and ignored: keys come sorted
      if (!Expect(TokenKind::kKeys) || !ParseOnDatabase(show.on_db)) return false;
      if (Accept(TokenKind::kFrom) && !ParseSources(show.sources)) return false;
      if (!ParseOrderBy(desc) || !ParseOptionalInt(TokenKind::kLimit, show.limit) ||
          !ParseOptionalInt(TokenKind::kOffset, show.offset)) {
        return false;
      }
      out = std::move(show);
      return true;
    }
    case TokenKind::kMeasurements: {
      ShowMeasurements show;
      if (!ParseShowMeasurements(show)) return false;
      out = std::move(show);
      return true;
    }
    case TokenKind::kRetention: {
      ShowRetentionPolicies show;
      if (!Expect(TokenKind::kPolicies) || !ParseOnDatabase(show.on_db)) return false;
      out = std::move(show);
      return true;
    }
    case TokenKind::kSeries: {
      ShowSeries show;
      bool desc = false;
      if (!ParseOnDatabase(show.on_db)) return false;
      if (Accept(TokenKind::kFrom) && !ParseSources(show.sources)) return false;
      if (!ParseCondition(show.where) || !ParseOrderBy(desc) ||
          !ParseOptionalInt(TokenKind::kLimit, show.limit) ||
          !ParseOptionalInt(TokenKind::kOffset, show.offset)) {
        return false;
      }
      out = std::move(show);
      return true;
    }
    case TokenKind::kTag: {
      const Token which = Next();
      if (which.kind == TokenKind::kValues) {
        ShowTagValues show;
        if (!ParseShowTagValues(show)) return false;
        out = std::move(show);
        return true;
      }
      if (which.kind != TokenKind::kKeys) return Fail(which, {"KEYS", "VALUES"});
      ShowTagKeys show;
      bool desc = false;
      if (!ParseOnDatabase(show.on_db)) return false;
      if (Accept(TokenKind::kFrom) && !ParseSources(show.sources)) return false;
      if (!ParseCondition(show.where) || !ParseOrderBy(desc) ||
          !ParseOptionalInt(TokenKind::kLimit, show.limit) ||
          !ParseOptionalInt(TokenKind::kOffset, show.offset)) {
        return false;
      }
      out = std::move(show);
      return true;
    }
    default:
      return Fail(token, {"CONTINUOUS", "DATABASES", "FIELD", "MEASUREMENTS", "RETENTION", "SERIES",
                          "TAG"});
  }
}

bool Parser::ParseShowMeasurements(ShowMeasurements& out) {
  if (!ParseOnDatabase(out.on_db)) return false;
  if (Accept(TokenKind::kWith)) {
    if (!Expect(TokenKind::kMeasurement)) return false;
    const Token op = Next();
    if (op.kind != TokenKind::kEq && op.kind != TokenKind::kEqRegex) return Fail(op, {"=", "=~"});
    Source source;
    if (!ParseSource(source)) return false;
    out.with_measurement = std::move(source);
  }
  bool desc = false;
  return ParseCondition(out.where) && ParseOrderBy(desc) &&
         ParseOptionalInt(TokenKind::kLimit, out.limit) &&
         ParseOptionalInt(TokenKind::kOffset, out.offset);
}

bool Parser::ParseShowTagValues(ShowTagValues& out) {
  if (!ParseOnDatabase(out.on_db)) return false;
  if (Accept(TokenKind::kFrom) && !ParseSources(out.sources)) return false;
  if (!Expect(TokenKind::kWith) || !Expect(TokenKind::kKey)) return false;
  const Token op = Next();
  switch (op.kind) {
    case TokenKind::kIn:
      out.op = TagKeyOp::kIn;
      if (!Expect(TokenKind::kLParen) || !ParseIdentList(out.keys) || !Expect(TokenKind::kRParen)) {
        return false;
      }
      break;
    case TokenKind::kEq:
    case TokenKind::kNeq: {
      out.op = op.kind == TokenKind::kEq ? TagKeyOp::kEq : TagKeyOp::kNeq;
      std::string key;
      if (!ParseIdent(key)) return false;
      out.keys.push_back(std::move(key));
      break;
    }
    case TokenKind::kEqRegex:
    case TokenKind::kNeqRegex:
      out.op = op.kind == TokenKind::kEqRegex ? TagKeyOp::kEqRegex : TagKeyOp::kNeqRegex;
      if (!ParseRegex(out.key_regex)) return false;
      if (!out.key_regex) return Fail(Next(), {"regex"});
      break;
    default:
      return Fail(op, {"IN", "=", "=~"});
  }
  bool desc = false;
  return ParseCondition(out.where) && ParseOrderBy(desc) &&
         ParseOptionalInt(TokenKind::kLimit, out.limit) &&
         ParseOptionalInt(TokenKind::kOffset, out.offset);
}

bool Parser::ParseCreate(Statement& out) {
  const Token token = Next();
  if (token.kind == TokenKind::kContinuous) {
    CreateContinuousQuery create;
    if (!Expect(TokenKind::kQuery) || !ParseCreateContinuousQuery(create)) return false;
    out = std::move(create);
    return true;
  }
  if (token.kind != TokenKind::kDatabase) return Fail(token, {"CONTINUOUS", "DATABASE"});
  CreateDatabase create;
  if (!ParseIdent(create.name)) return false;
  if (const Token with = Peek(); with.kind == TokenKind::kWith) {
    return FailAt("CREATE DATABASE ... WITH is not supported", with.pos);
  }
  out = std::move(create);
  return true;
}

bool Parser::ParseDrop(Statement& out) {
  const Token token = Next();
  switch (token.kind) {
    case TokenKind::kContinuous: {
      DropContinuousQuery drop;
      if (!Expect(TokenKind::kQuery) || !ParseIdent(drop.name) || !Expect(TokenKind::kOn) ||
          !ParseIdent(drop.db)) {
        return false;
      }
      out = std::move(drop);
      return true;
    }
    case TokenKind::kDatabase: {
      DropDatabase drop;
      if (!ParseIdent(drop.name)) return false;
      out = std::move(drop);
      return true;
    }
    case TokenKind::kMeasurement: {
      DropMeasurement drop;
      if (!ParseIdent(drop.name)) return false;
      out = std::move(drop);
      return true;
    }
    case TokenKind::kSeries: {
      DropSeries drop;
      if (!ParseSeriesFilter(*this, drop, /*allow_policy=*/false)) return false;
      out = std::move(drop);
      return true;
    }
    default:
      return Fail(token, {"CONTINUOUS", "DATABASE", "MEASUREMENT", "SERIES"});
  }
}

bool Parser::ParseDelete(Statement& out) {
  Delete del;
  if (!ParseSeriesFilter(*this, del, /*allow_policy=*/true)) return false;
  out = std::move(del);
  return true;
}

bool Parser::ParseCreateContinuousQuery(CreateContinuousQuery& out) {
  if (!ParseIdent(out.name) || !Expect(TokenKind::kOn) || !ParseIdent(out.db)) return false;
  if (Accept(TokenKind::kResample)) {
    if (Accept(TokenKind::kEvery) && !ParseDurationToken(out.resample_every_ns)) return false;
    if (Accept(TokenKind::kFor) && !ParseDurationToken(out.resample_for_ns)) return false;
    if (!ParseLatePolicy(*this, out.late)) return false;
    // LATE is tidewatch's own; the message lists what InfluxDB expects.
    if (out.resample_every_ns == 0 && out.resample_for_ns == 0 &&
        out.late == CqLatePolicy::kDefault) {
      return Fail(Next(), {"EVERY", "FOR"});
    }
  }
  if (!Expect(TokenKind::kBegin) || !Expect(TokenKind::kSelect) ||
      !ParseSelect(out.select, /*into_required=*/true)) {
    return false;
  }
  std::string error;
  std::int64_t interval = GroupByInterval(out.select, error);
  bool aggregate = false;
  for (const Field& field : out.select.fields) aggregate = aggregate || HasCall(field.expr);
  if (aggregate && (interval == 0 || !error.empty())) {
    std::vector<std::string> expected = {"GROUP BY time(...)"};
    if (!error.empty()) expected.push_back(error);
    return Fail(Next(), expected);
  }
  if (!Expect(TokenKind::kEnd)) return false;
  if (!error.empty()) return FailPlain(error);
  if (out.resample_for_ns != 0) {
    if (out.resample_every_ns != 0 && out.resample_every_ns > interval) {
      interval = out.resample_every_ns;
    }
    if (interval > out.resample_for_ns) {
      return FailPlain("FOR duration must be >= GROUP BY time duration: must be a minimum of " +
                       FormatDuration(interval) + ", got " + FormatDuration(out.resample_for_ns));
    }
  }
  return true;
}

}  // namespace tidewatch::rules::internal
