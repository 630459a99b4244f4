// ValidateSelect(): the checks InfluxDB 1.x makes when it compiles a SELECT
// (query/compile.go), with its messages. Walks are recursive; parsed trees are at most
// kMaxExprDepth high.
#include <string>
#include <type_traits>

#include "rules/parser.h"
#include "rules/parser_impl.h"
#include "rules/statement_text.h"

namespace tidewatch::rules {
namespace {

bool IsMathFunction(std::string_view name) {
  static constexpr std::string_view kNames[] = {"abs",   "sin",   "cos", "tan",   "asin", "acos",
                                                "atan",  "atan2", "exp", "log",   "ln",   "log2",
                                                "log10", "sqrt",  "pow", "floor", "ceil", "round"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return false;
}

bool IsLiteral(const Expr& e) {
  return e.As<NumberLiteral>() || e.As<IntegerLiteral>() || e.As<StringLiteral>() ||
         e.As<BooleanLiteral>() || e.As<RegexLiteral>() || e.As<DurationLiteral>();
}

// Go's %T of the corresponding influxql node, for messages InfluxDB formats with it.
std::string GoTypeName(const Expr& e) {
  return std::visit(
      [](const auto& node) -> std::string {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, NumberLiteral>) return "*influxql.NumberLiteral";
        if constexpr (std::is_same_v<T, IntegerLiteral>) return "*influxql.IntegerLiteral";
        if constexpr (std::is_same_v<T, StringLiteral>) return "*influxql.StringLiteral";
        if constexpr (std::is_same_v<T, BooleanLiteral>) return "*influxql.BooleanLiteral";
        if constexpr (std::is_same_v<T, RegexLiteral>) return "*influxql.RegexLiteral";
        if constexpr (std::is_same_v<T, DurationLiteral>) return "*influxql.DurationLiteral";
        if constexpr (std::is_same_v<T, VarRef>) return "*influxql.VarRef";
        if constexpr (std::is_same_v<T, Wildcard>) return "*influxql.Wildcard";
        if constexpr (std::is_same_v<T, Call>) return "*influxql.Call";
        return "*influxql.BinaryExpr";
      },
      e.node);
}

std::string Count(std::size_t n) { return std::to_string(n); }

// The state InfluxDB's compiledStatement keeps while compiling the fields.
class FieldCompiler {
 public:
  FieldCompiler(std::int64_t interval, const SelectStatement& select)
      : interval_(interval), select_(select) {}

  Status Run() {
    for (const Field& field : select_.fields) {
      const auto* ref = field.expr.As<VarRef>();
      if (ref != nullptr && ref->name == "time") continue;  // the time column
      ++fields_;
      allow_wildcard_ = true;
      if (!CompileExpr(field.expr)) return Error();
    }
    return ValidateFields();
  }

 private:
  Status Error() const { return Status(StatusCode::kInvalidArgument, error_); }
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  bool CompileExpr(const Expr& expr) {
    if (expr.As<VarRef>()) {
      has_aux_ = true;
      return true;
    }
    if (expr.As<Wildcard>() || expr.As<RegexLiteral>()) {
      has_aux_ = true;
      if (allow_wildcard_) return true;
      return Fail(expr.As<Wildcard>() ? "unable to use wildcard in a binary expression"
                                      : "unable to use regex in a binary expression");
    }
    if (const auto* call = expr.As<Call>()) return CompileCall(*call);
    if (const auto* binary = expr.As<BinaryExpr>()) {
      allow_wildcard_ = false;  // sticky for the rest of the field, as in InfluxDB
      const bool lhs_literal = IsLiteral(*binary->lhs), rhs_literal = IsLiteral(*binary->rhs);
      if (lhs_literal && rhs_literal) {
        return Fail("cannot perform a binary expression on two literals");
      }
      if (lhs_literal) return CompileExpr(*binary->rhs);
      if (rhs_literal) return CompileExpr(*binary->lhs);
      return CompileExpr(*binary->lhs) && CompileExpr(*binary->rhs);
    }
    return Fail("field must contain at least one variable");
  }

  bool CompileCall(const Call& call) {
    const std::string& name = call.name;
    const auto& args = call.args;
    if (IsMathFunction(name)) {
      const std::size_t want = (name == "atan2" || name == "pow" || name == "log") ? 2 : 1;
      if (args.size() != want) return WrongCount(name, want, args.size());
      for (const Expr& arg : args) {
        if (!IsLiteral(arg) && !CompileExpr(arg)) return false;
      }
      return true;
    }
    ++function_calls_;
    if (name == "percentile" || name == "sample") {
      if (args.size() != 2) return WrongCount(name, 2, args.size());
      if (name == "percentile" && !args[1].As<IntegerLiteral>() && !args[1].As<NumberLiteral>()) {
        return Fail("expected float argument in percentile()");
      }
      if (name == "sample") {
        const auto* n = args[1].As<IntegerLiteral>();
        if (n == nullptr) return Fail("expected integer argument in sample()");
        if (n->value <= 0) {
          return Fail("sample window must be greater than 1, got " + std::to_string(n->value));
        }
      }
      return CompileSymbol(name, args[0]);
    }
    if (name == "distinct") return CompileDistinct(args, /*nested=*/false);
    if (name == "top" || name == "bottom") return CompileTopBottom(call);
    if (name == "derivative" || name == "non_negative_derivative" || name == "elapsed" ||
        name == "integral") {
      if (args.empty() || args.size() > 2) {
        return Fail("invalid number of arguments for " + name +
                    ", expected at least 1 but no more than 2, got " + Count(args.size()));
      }
      if (args.size() == 2) {
        const auto* d = args[1].As<DurationLiteral>();
        if (d == nullptr) {
          if (name == "integral") return Fail("second argument must be a duration");
          return Fail("second argument to " + name + " must be a duration, got " +
                      GoTypeName(args[1]));
        }
        if (d->ns <= 0) {
          return Fail("duration argument must be positive, got " + FormatDuration(d->ns));
        }
      }
      only_selectors_ = false;
      if (name == "integral") return CompileSymbol(name, args[0]);
      return CompileTransformArg(name, args[0]);
    }
    if (name == "difference" || name == "non_negative_difference" || name == "cumulative_sum") {
      if (args.size() != 1) return WrongCount(name, 1, args.size());
      only_selectors_ = false;
      return CompileTransformArg(name, args[0]);
    }
    if (name == "moving_average") {
      if (args.size() != 2) return WrongCount(name, 2, args.size());
      const auto* n = args[1].As<IntegerLiteral>();
      if (n == nullptr) {
        return Fail("second argument for moving_average must be an integer, got " +
                    GoTypeName(args[1]));
      }
      if (n->value <= 1) {
        return Fail("moving_average window must be greater than 1, got " +
                    std::to_string(n->value));
      }
      only_selectors_ = false;
      return CompileTransformArg(name, args[0]);
    }
    if (name == "count" || name == "sum" || name == "mean" || name == "median" || name == "mode" ||
        name == "stddev" || name == "spread") {
      only_selectors_ = false;
    } else if (name != "max" && name != "min" && name != "first" && name != "last") {
      return Fail("undefined function " + name + "()");
    }
    if (args.size() != 1) return WrongCount(name, 1, args.size());
    if (const auto* inner = args[0].As<Call>();
        name == "count" && inner && inner->name == "distinct") {
      return CompileDistinct(inner->args, /*nested=*/true);
    }
    return CompileSymbol(name, args[0]);
  }

  bool WrongCount(const std::string& name, std::size_t want, std::size_t got) {
    return Fail("invalid number of arguments for " + name + ", expected " + Count(want) + ", got " +
                Count(got));
  }

  // The first argument of derivative() and friends: a nested aggregate (which needs
  // GROUP BY time()) or, without GROUP BY time(), a field.
  bool CompileTransformArg(const std::string& name, const Expr& arg) {
    if (const auto* call = arg.As<Call>()) {
      if (interval_ == 0) return Fail(name + " aggregate requires a GROUP BY interval");
      if (call->name == "distinct") return CompileDistinct(call->args, /*nested=*/true);
      return CompileExpr(arg);
    }
    if (interval_ != 0) return Fail("aggregate function required inside the call to " + name);
    return CompileSymbol(name, arg);
  }

  bool CompileSymbol(const std::string& name, const Expr& arg) {
    if (arg.As<VarRef>()) return true;
    if (arg.As<Wildcard>() || arg.As<RegexLiteral>()) {
      if (!allow_wildcard_) {
        return Fail(std::string(arg.As<Wildcard>() ? "unsupported expression with wildcard: "
                                                   : "unsupported expression with regex field: ") +
                    name + "()");
      }
      only_selectors_ = false;
      return true;
    }
    return Fail("expected field argument in " + name + "()");
  }

  bool CompileDistinct(const std::vector<Expr>& args, bool nested) {
    if (args.empty()) return Fail("distinct function requires at least one argument");
    if (args.size() != 1) return Fail("distinct function can only have one argument");
    if (!args[0].As<VarRef>()) return Fail("expected field argument in distinct()");
    if (!nested) has_distinct_ = true;
    only_selectors_ = false;
    return true;
  }

  bool CompileTopBottom(const Call& call) {
    const std::string& name = call.name;
    if (!top_bottom_.empty()) {
      return Fail("selector function " + top_bottom_ +
                  "() cannot be combined with other functions");
    }
    if (call.args.size() < 2) {
      return Fail("invalid number of arguments for " + name + ", expected at least 2, got " +
                  Count(call.args.size()));
    }
    const Expr& last = call.args.back();
    const auto* limit = last.As<IntegerLiteral>();
    if (limit == nullptr) {
      return Fail("expected integer as last argument in " + name + "(), found " + ToString(last));
    }
    if (limit->value <= 0) {
      return Fail("limit (" + std::to_string(limit->value) + ") in " + name +
                  " function must be at least 1");
    }
    if (select_.limit > 0 && limit->value > select_.limit) {
      return Fail("limit (" + std::to_string(limit->value) + ") in " + name +
                  " function can not be larger than the LIMIT (" + std::to_string(select_.limit) +
                  ") in the select statement");
    }
    if (!call.args[0].As<VarRef>()) {
      return Fail("expected first argument to be a field in " + name + "(), found " +
                  ToString(call.args[0]));
    }
    for (std::size_t i = 1; i + 1 < call.args.size(); ++i) {
      if (!call.args[i].As<VarRef>()) {
        return Fail("only fields or tags are allowed in " + name + "(), found " +
                    ToString(call.args[i]));
      }
      if (!select_.into) {  // each listed tag or field becomes a column
        ++fields_;
        has_aux_ = true;
      }
    }
    top_bottom_ = name;
    return true;
  }

  Status ValidateFields() {
    auto fail = [](std::string message) {
      return Status(StatusCode::kInvalidArgument, std::move(message));
    };
    if (fields_ == 0) return fail("at least 1 non-time field must be queried");
    if (function_calls_ > 1 && !top_bottom_.empty()) {
      return fail("selector function " + top_bottom_ +
                  "() cannot be combined with other functions");
    }
    if (function_calls_ == 0) {
      if (select_.fill.kind == FillKind::kNone)
        return fail("fill(none) must be used with a function");
      if (select_.fill.kind == FillKind::kLinear) {
        return fail("fill(linear) must be used with a function");
      }
      if (interval_ != 0) return fail("GROUP BY requires at least one aggregate function");
    }
    if (has_distinct_ && (function_calls_ != 1 || has_aux_)) {
      return fail(
          "aggregate function distinct() cannot be combined with other functions or fields");
    }
    if (has_aux_) {
      if (!only_selectors_)
        return fail("mixing aggregate and non-aggregate queries is not supported");
      if (function_calls_ > 1) {
        return fail("mixing multiple selector functions with tags or fields is not supported");
      }
    }
    return Status::Ok();
  }

  const std::int64_t interval_;
  const SelectStatement& select_;
  std::string error_;
  int fields_ = 0;
  int function_calls_ = 0;
  bool allow_wildcard_ = true;
  bool only_selectors_ = true;
  bool has_distinct_ = false;
  bool has_aux_ = false;
  std::string top_bottom_;
};

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

// Calls in WHERE: now() and math functions only.
Status ValidateCondition(const Expr& expr) {
  if (const auto* binary = expr.As<BinaryExpr>()) {
    if (Status s = ValidateCondition(*binary->lhs); !s.ok()) return s;
    return ValidateCondition(*binary->rhs);
  }
  const auto* call = expr.As<Call>();
  if (call == nullptr || (call->name == "now" && call->args.empty())) return Status::Ok();
  if (!IsMathFunction(call->name)) {
    return Invalid("invalid function call in condition: " + ToString(expr));
  }
  const std::size_t want = (call->name == "atan2" || call->name == "pow") ? 2 : 1;
  if (call->args.size() != want) {
    return Invalid("invalid number of arguments for " + call->name + ", expected " + Count(want) +
                   ", got " + Count(call->args.size()));
  }
  for (const Expr& arg : call->args) {
    if (Status s = ValidateCondition(arg); !s.ok()) return s;
  }
  return Status::Ok();
}

// InfluxDB's compileDimensions; returns the GROUP BY time() interval through `interval`.
Status ValidateDimensions(const SelectStatement& select, std::int64_t& interval) {
  for (const Dimension& d : select.dimensions) {
    if (const auto* ref = d.expr.As<VarRef>()) {
      if (internal::Lower(ref->name) == "time") {
        return Invalid("time() is a function and expects at least one argument");
      }
      continue;
    }
    if (d.expr.As<Wildcard>() || d.expr.As<RegexLiteral>()) continue;
    const auto* call = d.expr.As<Call>();
    if (call == nullptr) return Invalid("only time and tag dimensions allowed");
    if (call->name != "time") return Invalid("only time() calls allowed in dimensions");
    if (call->args.empty() || call->args.size() > 2) {
      return Invalid("time dimension expected 1 or 2 arguments");
    }
    const auto* duration = call->args[0].As<DurationLiteral>();
    if (duration == nullptr) return Invalid("time dimension must have duration argument");
    if (interval != 0) return Invalid("multiple time dimensions not allowed");
    if (duration->ns <= 0) return Invalid("time dimension must have a positive duration argument");
    interval = duration->ns;
    if (call->args.size() == 2 && !call->args[1].As<DurationLiteral>()) {
      if (const auto* offset = call->args[1].As<Call>(); offset && offset->name == "now") {
        return Invalid("time dimension offset now() is not supported");
      }
      return Invalid("time dimension offset must be duration or now()");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateSelect(const SelectStatement& select) {
  if (select.condition) {
    if (Status s = ValidateCondition(*select.condition); !s.ok()) return s;
  }
  std::int64_t interval = 0;
  if (Status s = ValidateDimensions(select, interval); !s.ok()) return s;
  return FieldCompiler(interval, select).Run();
}

}  // namespace tidewatch::rules
