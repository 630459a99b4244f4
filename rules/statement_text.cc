#include "rules/statement_text.h"

#include <charconv>
#include <type_traits>

#include "rules/lexer.h"

namespace tidewatch::rules {
namespace {

int Precedence(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr:
      return 1;
    case BinaryOp::kAnd:
      return 2;
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
      return 4;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
      return 5;
    default:
      return 3;  // comparisons
  }
}

std::string_view VarTypeText(VarType type) {
  switch (type) {
    case VarType::kFloat:
      return "float";
    case VarType::kInteger:
      return "integer";
    case VarType::kUnsigned:
      return "unsigned";
    case VarType::kString:
      return "string";
    case VarType::kBoolean:
      return "boolean";
    case VarType::kField:
      return "field";
    case VarType::kTag:
      return "tag";
    case VarType::kAny:
      break;
  }
  return "";
}

void AppendTypeHint(VarType type, std::string& out) {
  if (type == VarType::kAny) return;
  out += "::";
  out += VarTypeText(type);
}

// InfluxDB prints numbers with "%.3f"; when that would lose the value, the shortest
// exact fixed-point form is used instead.
std::string FormatNumber(double value) {
  char buf[512];  // the longest fixed-point double is ~330 characters
  auto result = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed, 3);
  double back = 0;
  std::from_chars(buf, result.ptr, back);
  if (back != value) {
    result = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
  }
  return std::string(buf, result.ptr);
}

std::string FormatFillValue(const Fill& fill) {
  if (fill.value_is_integer) return std::to_string(fill.integer_value);
  char buf[512];
  const auto result = std::to_chars(buf, buf + sizeof(buf), fill.value, std::chars_format::fixed);
  return std::string(buf, result.ptr);
}

std::string RegexText(const Regex& regex) {
  std::string out = "/";
  for (char c : regex.source) {
    if (c == '/') out += '\\';
    out += c;
  }
  out += '/';
  return out;
}

bool NeedsQuotes(std::string_view ident) {
  if (ident.empty() || IsKeyword(ident)) return true;
  for (std::size_t i = 0; i < ident.size(); ++i) {
    const char c = ident[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && (i == 0 || c < '0' || c > '9')) return true;
  }
  return false;
}

void AppendExpr(const Expr& expr, std::string& out);

// A binary operand, parenthesised when precedence (or left associativity) requires.
void AppendOperand(const Expr& operand, int parent, bool right, std::string& out) {
  const auto* binary = operand.As<BinaryExpr>();
  const int precedence = binary != nullptr ? Precedence(binary->op) : 6;
  const bool parens = precedence < parent || (right && precedence == parent);
  if (parens) out += '(';
  AppendExpr(operand, out);
  if (parens) out += ')';
}

void AppendExpr(const Expr& expr, std::string& out) {
  std::visit(
      [&out](const auto& node) {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, NumberLiteral>) {
          out += FormatNumber(node.value);
        } else if constexpr (std::is_same_v<T, IntegerLiteral>) {
          out += std::to_string(node.value);
        } else if constexpr (std::is_same_v<T, StringLiteral>) {
          out += QuoteString(node.value);
        } else if constexpr (std::is_same_v<T, BooleanLiteral>) {
          out += node.value ? "true" : "false";
        } else if constexpr (std::is_same_v<T, RegexLiteral>) {
          out += RegexText(node.regex);
        } else if constexpr (std::is_same_v<T, DurationLiteral>) {
          out += FormatDuration(node.ns);
        } else if constexpr (std::is_same_v<T, VarRef>) {
          out += QuoteIdent(node.name);
          AppendTypeHint(node.type, out);
        } else if constexpr (std::is_same_v<T, Wildcard>) {
          out += '*';
          AppendTypeHint(node.type, out);
        } else if constexpr (std::is_same_v<T, Call>) {
          // distinct is a keyword that the parser still accepts as a call name.
          out += node.name == "distinct" ? node.name : QuoteIdent(node.name);
          out += '(';
          for (std::size_t i = 0; i < node.args.size(); ++i) {
            if (i > 0) out += ", ";
            AppendExpr(node.args[i], out);
          }
          out += ')';
        } else {  // BinaryExpr
          const int precedence = Precedence(node.op);
          AppendOperand(*node.lhs, precedence, /*right=*/false, out);
          out += ' ';
          out += BinaryOpText(node.op);
          out += ' ';
          AppendOperand(*node.rhs, precedence, /*right=*/true, out);
        }
      },
      expr.node);
}

// [db.][rp.]<tail>, as InfluxDB's Measurement.String().
void AppendQualified(const std::string& db, const std::string& rp, std::string_view tail,
                     std::string& out) {
  if (!db.empty()) {
    out += QuoteIdent(db);
    out += '.';
  }
  if (!rp.empty()) out += QuoteIdent(rp);
  if (!db.empty() || !rp.empty()) out += '.';
  out += tail;
}

void AppendSource(const Source& source, std::string& out) {
  AppendQualified(source.database, source.retention_policy,
                  source.regex ? RegexText(*source.regex) : QuoteIdent(source.name), out);
}

void AppendSources(std::string_view keyword, const std::vector<Source>& sources, std::string& out) {
  if (sources.empty()) return;
  out += keyword;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (i > 0) out += ", ";
    AppendSource(sources[i], out);
  }
}

void AppendOn(const std::string& db, std::string& out) {
  if (db.empty()) return;
  out += " ON ";
  out += QuoteIdent(db);
}

void AppendWhere(const std::optional<Expr>& where, std::string& out) {
  if (!where) return;
  out += " WHERE ";
  AppendExpr(*where, out);
}

void AppendInt(std::string_view keyword, std::int64_t value, std::string& out) {
  if (value <= 0) return;
  out += keyword;
  out += std::to_string(value);
}

void AppendLimits(std::int64_t limit, std::int64_t offset, std::string& out) {
  AppendInt(" LIMIT ", limit, out);
  AppendInt(" OFFSET ", offset, out);
}

void AppendInto(const Into& into, std::string& out) {
  out += " INTO ";
  AppendQualified(into.database, into.retention_policy,
                  into.measurement.empty() ? ":MEASUREMENT" : QuoteIdent(into.measurement), out);
}

void AppendSelect(const SelectStatement& s, std::string& out) {
  out += "SELECT ";
  for (std::size_t i = 0; i < s.fields.size(); ++i) {
    if (i > 0) out += ", ";
    AppendExpr(s.fields[i].expr, out);
    if (!s.fields[i].alias.empty()) {
      out += " AS ";
      out += QuoteIdent(s.fields[i].alias);
    }
  }
  if (s.into) AppendInto(*s.into, out);
  AppendSources(" FROM ", s.sources, out);
  AppendWhere(s.condition, out);
  for (std::size_t i = 0; i < s.dimensions.size(); ++i) {
    out += i == 0 ? " GROUP BY " : ", ";
    AppendExpr(s.dimensions[i].expr, out);
  }
  switch (s.fill.kind) {
    case FillKind::kNull:
      break;
    case FillKind::kNone:
      out += " fill(none)";
      break;
    case FillKind::kPrevious:
      out += " fill(previous)";
      break;
    case FillKind::kLinear:
      out += " fill(linear)";
      break;
    case FillKind::kValue:
      out += " fill(" + FormatFillValue(s.fill) + ")";
      break;
  }
  if (s.order_desc) out += " ORDER BY time DESC";
  AppendLimits(s.limit, s.offset, out);
  AppendInt(" SLIMIT ", s.slimit, out);
  AppendInt(" SOFFSET ", s.soffset, out);
}

std::string_view TagKeyOpText(TagKeyOp op) {
  switch (op) {
    case TagKeyOp::kEq:
      return "=";
    case TagKeyOp::kNeq:
      return "!=";
    case TagKeyOp::kEqRegex:
      return "=~";
    case TagKeyOp::kNeqRegex:
      return "!~";
    case TagKeyOp::kIn:
      return "IN";
  }
  return "=";
}

// One overload per statement type, dispatched by std::visit.
struct StatementPrinter {
  std::string& out;

  void operator()(const SelectStatement& s) const { AppendSelect(s, out); }
  void operator()(const ShowDatabases&) const { out += "SHOW DATABASES"; }
  void operator()(const ShowMeasurements& s) const {
    out += "SHOW MEASUREMENTS";
    AppendOn(s.on_db, out);
    if (s.with_measurement) {
      out += s.with_measurement->regex ? " WITH MEASUREMENT =~ " : " WITH MEASUREMENT = ";
      AppendSource(*s.with_measurement, out);
    }
    AppendWhere(s.where, out);
    AppendLimits(s.limit, s.offset, out);
  }
  void operator()(const ShowTagKeys& s) const {
    out += "SHOW TAG KEYS";
    AppendOn(s.on_db, out);
    AppendSources(" FROM ", s.sources, out);
    AppendWhere(s.where, out);
    AppendLimits(s.limit, s.offset, out);
  }
  void operator()(const ShowTagValues& s) const {
    out += "SHOW TAG VALUES";
    AppendOn(s.on_db, out);
    AppendSources(" FROM ", s.sources, out);
    out += " WITH KEY ";
    out += TagKeyOpText(s.op);
    out += ' ';
    if (s.op == TagKeyOp::kIn) {
      out += '(';
      for (std::size_t i = 0; i < s.keys.size(); ++i) {
        if (i > 0) out += ", ";
        out += QuoteIdent(s.keys[i]);
      }
      out += ')';
    } else if (s.key_regex) {
      out += RegexText(*s.key_regex);
    } else if (!s.keys.empty()) {
      out += QuoteIdent(s.keys[0]);
    }
    AppendWhere(s.where, out);
    AppendLimits(s.limit, s.offset, out);
  }
  void operator()(const ShowFieldKeys& s) const {
    out += "SHOW FIELD KEYS";
    AppendOn(s.on_db, out);
    AppendSources(" FROM ", s.sources, out);
    AppendLimits(s.limit, s.offset, out);
  }
  void operator()(const ShowSeries& s) const {
    out += "SHOW SERIES";
    AppendOn(s.on_db, out);
    AppendSources(" FROM ", s.sources, out);
    AppendWhere(s.where, out);
    AppendLimits(s.limit, s.offset, out);
  }
  void operator()(const ShowRetentionPolicies& s) const {
    out += "SHOW RETENTION POLICIES";
    AppendOn(s.on_db, out);
  }
  void operator()(const ShowContinuousQueries&) const { out += "SHOW CONTINUOUS QUERIES"; }
  void operator()(const CreateDatabase& s) const { out += "CREATE DATABASE " + QuoteIdent(s.name); }
  void operator()(const DropDatabase& s) const { out += "DROP DATABASE " + QuoteIdent(s.name); }
  void operator()(const DropMeasurement& s) const {
    out += "DROP MEASUREMENT " + QuoteIdent(s.name);
  }
  void operator()(const DropSeries& s) const {
    out += "DROP SERIES";
    AppendSources(" FROM ", s.sources, out);
    AppendWhere(s.where, out);
  }
  void operator()(const Delete& s) const {
    out += "DELETE";
    AppendSources(" FROM ", s.sources, out);
    AppendWhere(s.where, out);
  }
  void operator()(const CreateContinuousQuery& s) const {
    out += "CREATE CONTINUOUS QUERY " + QuoteIdent(s.name) + " ON " + QuoteIdent(s.db) + " ";
    if (s.resample_every_ns > 0 || s.resample_for_ns > 0 || s.late != CqLatePolicy::kDefault) {
      out += "RESAMPLE ";
      if (s.resample_every_ns > 0) out += "EVERY " + FormatDuration(s.resample_every_ns) + " ";
      if (s.resample_for_ns > 0) out += "FOR " + FormatDuration(s.resample_for_ns) + " ";
      if (s.late == CqLatePolicy::kReemit) out += "LATE REEMIT ";
      if (s.late == CqLatePolicy::kIgnore) out += "LATE IGNORE ";
    }
    out += "BEGIN ";
    AppendSelect(s.select, out);
    out += " END";
  }
  void operator()(const DropContinuousQuery& s) const {
    out += "DROP CONTINUOUS QUERY " + QuoteIdent(s.name) + " ON " + QuoteIdent(s.db);
  }
};

}  // namespace

std::string_view BinaryOpText(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kEq:
      return "=";
    case BinaryOp::kNeq:
      return "!=";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kLte:
      return "<=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kGte:
      return ">=";
    case BinaryOp::kEqRegex:
      return "=~";
    case BinaryOp::kNeqRegex:
      return "!~";
    case BinaryOp::kAnd:
      return "AND";
    case BinaryOp::kOr:
      return "OR";
  }
  return "?";
}

std::string FormatDuration(std::int64_t ns) {
  struct Unit {
    std::int64_t ns;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {
      {604'800'000'000'000, "w"},
      {86'400'000'000'000, "d"},
      {3'600'000'000'000, "h"},
      {60'000'000'000, "m"},
      {1'000'000'000, "s"},
      {1'000'000, "ms"},
      {1'000, "u"},
  };
  if (ns == 0) return "0s";
  for (const Unit& unit : kUnits) {
    if (ns % unit.ns == 0) return std::to_string(ns / unit.ns) + unit.suffix;
  }
  return std::to_string(ns) + "ns";
}

std::string QuoteIdent(std::string_view ident) {
  if (!NeedsQuotes(ident)) return std::string(ident);
  std::string out = "\"";
  for (char c : ident) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

std::string ToString(const Expr& expr) {
  std::string out;
  AppendExpr(expr, out);
  return out;
}

std::string ToString(const SelectStatement& select) {
  std::string out;
  AppendSelect(select, out);
  return out;
}

std::string ToString(const Statement& statement) {
  std::string out;
  std::visit(StatementPrinter{out}, statement);
  return out;
}

std::string ToString(const Query& query) {
  std::string out;
  for (std::size_t i = 0; i < query.statements.size(); ++i) {
    if (i > 0) out += ";\n";
    out += ToString(query.statements[i]);
  }
  return out;
}

}  // namespace tidewatch::rules
