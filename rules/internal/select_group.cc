#include "rules/internal/select_group.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "rules/internal/value_ops.h"
#include "rules/transforms.h"
#include "store/aggregate.h"
#include "store/series_aggregate.h"

namespace tidewatch::rules::internal {

namespace {

using store::AggregateFn;
using store::FieldType;
using store::Timestamp;

constexpr Timestamp kMaxTime = std::numeric_limits<Timestamp>::max();

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

struct Cell {
  Timestamp time;
  Value value;
};
using Column = std::vector<Cell>;

// One InfluxDB point of the group: a time, its tag set, and the values of the fields
// read (GroupEval::row_fields), null where that field has no point at this time.
struct RawRow {
  Timestamp time;
  std::size_t tagset;
  std::vector<std::optional<double>> values;
};

std::optional<AggregateFn> AggregateByName(std::string_view name) {
  static constexpr std::pair<std::string_view, AggregateFn> kNames[] = {
      {"count", AggregateFn::kCount},
      {"sum", AggregateFn::kSum},
      {"mean", AggregateFn::kMean},
      {"median", AggregateFn::kMedian},
      {"spread", AggregateFn::kSpread},
      {"stddev", AggregateFn::kStddev},
      {"min", AggregateFn::kMin},
      {"max", AggregateFn::kMax},
      {"first", AggregateFn::kFirst},
      {"last", AggregateFn::kLast},
      {"percentile", AggregateFn::kPercentile},
  };
  for (const auto& [n, fn] : kNames) {
    if (n == name) return fn;
  }
  return std::nullopt;
}

Value Typed(double v, FieldType type) {
  switch (type) {
    case FieldType::kInteger:
      return static_cast<std::int64_t>(v);
    case FieldType::kBoolean:
      return v != 0;
    case FieldType::kFloat:
      break;
  }
  return v;
}

bool ContainsCall(const Expr& e, bool aggregates_only) {
  if (const auto* c = e.As<Call>()) {
    if (!aggregates_only || IsAggregateName(c->name)) return true;
    return std::any_of(c->args.begin(), c->args.end(),
                       [&](const Expr& a) { return ContainsCall(a, aggregates_only); });
  }
  if (const auto* b = e.As<BinaryExpr>()) {
    return ContainsCall(*b->lhs, aggregates_only) || ContainsCall(*b->rhs, aggregates_only);
  }
  return false;
}

void CollectVars(const Expr& e, std::vector<const VarRef*>& out) {
  if (const auto* v = e.As<VarRef>()) out.push_back(v);
  if (const auto* b = e.As<BinaryExpr>()) {
    CollectVars(*b->lhs, out);
    CollectVars(*b->rhs, out);
  }
  if (const auto* c = e.As<Call>()) {
    for (const Expr& a : c->args) CollectVars(a, out);
  }
}

class GroupEval {
 public:
  GroupEval(const StatementEnv& env, const SelectShape& shape, const MeasurementScope& scope,
            const SeriesGroup& group)
      : env_(env), shape_(shape), scope_(scope), group_(group) {}

  StatusOr<std::vector<std::vector<Value>>> Run();

 private:
  Value Lookup(const RawRow& row, const VarRef& v) const;
  void AddRowField(const std::string& field);
  void ReadRows(Timestamp start, Timestamp end);
  Status Aggregate();
  StatusOr<Column> EvalColumn(const Expr& e);
  StatusOr<Column> AggregateColumn(const Call& call);
  StatusOr<Column> TransformColumn(const Call& call);
  StatusOr<Column> BinaryColumn(const BinaryExpr& b);
  std::vector<std::vector<Value>> RawRows() const;
  std::vector<std::vector<Value>> JoinColumns(const std::vector<Column>& columns) const;

  const StatementEnv& env_;
  const SelectShape& shape_;
  const MeasurementScope& scope_;
  const SeriesGroup& group_;

  Timestamp start_ = 0;
  Timestamp end_ = 0;
  std::vector<std::string> row_fields_;  // the fields RawRow::values hold, in order
  std::vector<RawRow> rows_;             // ascending time, ties in tag set order
  std::map<std::string, store::BucketAggregator, std::less<>> aggs_;  // per field
};

Value GroupEval::Lookup(const RawRow& row, const VarRef& v) const {
  if (scope_.IsTag(v)) {
    const TagSet& ts = group_.tagsets[row.tagset];
    for (const auto& [k, val] : ts.tags) {
      if (k == v.name) return val;
    }
    return std::monostate{};
  }
  for (std::size_t i = 0; i < row_fields_.size(); ++i) {
    if (row_fields_[i] != v.name) continue;
    if (!row.values[i]) return std::monostate{};
    return Typed(*row.values[i], scope_.field_types.find(v.name)->second);
  }
  return std::monostate{};
}

void GroupEval::AddRowField(const std::string& field) {
  if (!scope_.field_types.contains(field)) return;
  if (std::find(row_fields_.begin(), row_fields_.end(), field) == row_fields_.end()) {
    row_fields_.push_back(field);
  }
}

void GroupEval::ReadRows(Timestamp start, Timestamp end) {
  const std::vector<const Expr*>& terms = scope_.where.row_terms;
  for (std::size_t t = 0; t < group_.tagsets.size(); ++t) {
    std::vector<SeriesPoints> points(row_fields_.size());
    std::vector<Timestamp> times;
    for (std::size_t f = 0; f < row_fields_.size(); ++f) {
      if (std::optional<store::SeriesId> id = group_.tagsets[t].Field(row_fields_[f])) {
        points[f] = ReadPoints(env_.store.windows(), *id, start, end);
        times.insert(times.end(), points[f].ts.begin(), points[f].ts.end());
      }
    }
    std::sort(times.begin(), times.end());
    times.erase(std::unique(times.begin(), times.end()), times.end());
    std::vector<std::size_t> pos(row_fields_.size(), 0);
    for (const Timestamp time : times) {
      RawRow row{time, t, std::vector<std::optional<double>>(row_fields_.size())};
      for (std::size_t f = 0; f < row_fields_.size(); ++f) {
        if (pos[f] < points[f].ts.size() && points[f].ts[pos[f]] == time) {
          row.values[f] = points[f].values[pos[f]++];
        }
      }
      if (terms.empty() || RowPasses(terms, [&](const VarRef& v) { return Lookup(row, v); })) {
        rows_.push_back(std::move(row));
      }
    }
  }
  std::stable_sort(rows_.begin(), rows_.end(),
                   [](const RawRow& a, const RawRow& b) { return a.time < b.time; });
}

// One aggregation pass per field, serving every function asked of it.
Status GroupEval::Aggregate() {
  std::map<std::string, store::AggregateFnSet, std::less<>> wanted;
  std::vector<const Call*> calls;
  std::vector<const Expr*> stack;
  for (const Field& f : shape_.fields) stack.push_back(&f.expr);
  while (!stack.empty()) {
    const Expr* e = stack.back();
    stack.pop_back();
    if (const auto* b = e->As<BinaryExpr>()) {
      stack.push_back(b->lhs.operator->());
      stack.push_back(b->rhs.operator->());
    } else if (const auto* c = e->As<Call>()) {
      const std::optional<AggregateFn> fn = AggregateByName(c->name);
      if (!fn) {
        for (const Expr& a : c->args) stack.push_back(&a);
        continue;
      }
      const auto* v = c->args.empty() ? nullptr : c->args[0].As<VarRef>();
      if (v == nullptr) return Invalid("expected field argument in " + c->name + "()");
      if (scope_.field_types.contains(v->name)) wanted[v->name].Add(*fn);
    }
  }
  store::AggregateSpec spec{start_, end_, shape_.interval, shape_.offset, {}, kMaxTime};
  const store::ParallelOptions parallel{std::max<std::size_t>(env_.limits.threads, 1)};
  const bool filtered = !scope_.where.row_terms.empty();
  if (filtered) {
    for (const auto& [field, fns] : wanted) AddRowField(field);
    std::vector<const VarRef*> vars;
    for (const Expr* t : scope_.where.row_terms) CollectVars(*t, vars);
    for (const VarRef* v : vars) {
      if (!scope_.IsTag(*v)) AddRowField(v->name);
    }
    ReadRows(start_, end_);
  }
  for (const auto& [field, fns] : wanted) {
    if (Status s = env_.CheckDeadline(); !s.ok()) return s;
    spec.functions = fns;
    if (!filtered) {
      std::vector<store::SeriesId> ids;
      for (const TagSet& ts : group_.tagsets) {
        if (std::optional<store::SeriesId> id = ts.Field(field)) ids.push_back(*id);
      }
      StatusOr<store::BucketAggregator> agg =
          store::AggregateSeries(env_.store.windows(), ids, spec, parallel);
      if (!agg.ok()) return agg.status();
      aggs_.emplace(field, std::move(agg).value());
      continue;
    }
    StatusOr<store::BucketAggregator> agg = store::BucketAggregator::Create(spec);
    if (!agg.ok()) return agg.status();
    const std::size_t f = static_cast<std::size_t>(
        std::find(row_fields_.begin(), row_fields_.end(), field) - row_fields_.begin());
    // Per tag set: each series' points ascending, as AddPoints requires.
    std::vector<std::vector<Timestamp>> ts(group_.tagsets.size());
    std::vector<std::vector<double>> vs(group_.tagsets.size());
    for (const RawRow& row : rows_) {
      if (!row.values[f]) continue;
      ts[row.tagset].push_back(row.time);
      vs[row.tagset].push_back(*row.values[f]);
    }
    for (std::size_t t = 0; t < ts.size(); ++t)
      agg->AddPoints(ts[t].data(), vs[t].data(), ts[t].size());
    aggs_.emplace(field, std::move(agg).value());
  }
  return Status::Ok();
}

StatusOr<Column> GroupEval::AggregateColumn(const Call& call) {
  const AggregateFn fn = *AggregateByName(call.name);
  const std::string& field = call.args[0].As<VarRef>()->name;
  auto agg = aggs_.find(field);
  if (agg == aggs_.end()) return Column{};
  const FieldType type = scope_.field_types.find(field)->second;
  const bool boolean_ok = fn == AggregateFn::kCount || fn == AggregateFn::kFirst ||
                          fn == AggregateFn::kLast || fn == AggregateFn::kMin ||
                          fn == AggregateFn::kMax;
  if (type == FieldType::kBoolean && !boolean_ok) {
    return Invalid("unsupported " + call.name + "() on boolean field \"" + field + "\"");
  }
  double percentile = 0;
  if (fn == AggregateFn::kPercentile) {
    const Expr* p = call.args.size() == 2 ? &call.args[1] : nullptr;
    if (const auto* n = p ? p->As<NumberLiteral>() : nullptr)
      percentile = n->value;
    else if (const auto* i = p ? p->As<IntegerLiteral>() : nullptr)
      percentile = static_cast<double>(i->value);
    else
      return Invalid("expected float argument in percentile()");
  }
  StatusOr<std::vector<store::AggregateValue>> values = agg->second.Evaluate(fn, percentile);
  if (!values.ok()) return values.status();
  FieldType out_type = type;
  if (fn == AggregateFn::kCount) out_type = FieldType::kInteger;
  if (fn == AggregateFn::kMean || fn == AggregateFn::kMedian || fn == AggregateFn::kStddev) {
    out_type = FieldType::kFloat;
  }
  const std::size_t n = values->size();
  std::vector<Timestamp> times(n);
  std::vector<std::optional<double>> cells(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = shape_.descending ? n - 1 - k : k;
    const store::AggregateValue& v = (*values)[i];
    if (shape_.interval > 0) {
      times[k] = agg->second.bucket_start(i);
    } else if (shape_.selector_time && v.has_value) {
      times[k] = v.time;
    } else {
      times[k] = scope_.where.range.bounded_start ? start_ : 0;
    }
    if (v.has_value) cells[k] = v.value;
  }
  if (shape_.interval > 0 && out_type != FieldType::kBoolean) {
    FillColumn(EffectiveFill(shape_.fill, fn == AggregateFn::kCount), times, cells,
               out_type == FieldType::kInteger);
  }
  const bool drop_nulls = shape_.fill.mode == FillMode::kNone || shape_.interval == 0;
  Column out;
  out.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    if (cells[k]) {
      out.push_back({times[k], Typed(*cells[k], out_type)});
    } else if (!drop_nulls) {
      out.push_back({times[k], std::monostate{}});
    }
  }
  return out;
}

StatusOr<Column> GroupEval::TransformColumn(const Call& call) {
  TransformSpec spec;
  spec.kind = *TransformByName(call.name);
  spec.ascending = !shape_.descending;
  if (call.args.empty()) return Invalid("invalid number of arguments for " + call.name);
  if (shape_.mode == SelectMode::kAggregate && !ContainsCall(call.args[0], true)) {
    return Invalid("aggregate function required inside the call to " + call.name);
  }
  const Expr* arg = call.args.size() > 1 ? &call.args[1] : nullptr;
  if (spec.kind == TransformKind::kMovingAverage) {
    const auto* n = arg ? arg->As<IntegerLiteral>() : nullptr;
    if (n == nullptr || n->value <= 1) {
      return Invalid("moving_average window must be an integer greater than 1");
    }
    spec.window = n->value;
  } else if (arg != nullptr) {
    const auto* d = arg->As<DurationLiteral>();
    if (d == nullptr || d->ns <= 0)
      return Invalid("second argument to " + call.name + " must be a positive duration");
    spec.unit_ns = d->ns;
  } else if (shape_.interval > 0) {
    spec.unit_ns = shape_.interval;  // InfluxDB's default: the GROUP BY interval, else 1s
  }
  StatusOr<Column> child = EvalColumn(call.args[0]);
  if (!child.ok()) return child;
  std::vector<TimedSample> input;
  input.reserve(child->size());
  bool integer = !child->empty();
  for (const Cell& c : *child) {
    integer = integer && (std::holds_alternative<std::int64_t>(c.value) ||
                          std::holds_alternative<std::monostate>(c.value));
    input.push_back({c.time, AsNumber(c.value)});
  }
  const bool keep_int = integer && TransformKeepsType(spec.kind);
  Column out;
  for (const TimedSample& s : ApplyTransform(spec, input)) {
    out.push_back(
        {s.time, keep_int ? Value(static_cast<std::int64_t>(*s.value)) : Value(*s.value)});
  }
  return out;
}

StatusOr<Column> GroupEval::BinaryColumn(const BinaryExpr& b) {
  const auto side = [this](const Expr& e) -> StatusOr<std::optional<Column>> {
    if (ContainsCall(e, false)) {
      StatusOr<Column> c = EvalColumn(e);
      if (!c.ok()) return c.status();
      return std::optional<Column>(std::move(c).value());
    }
    return std::optional<Column>();
  };
  StatusOr<std::optional<Column>> l = side(*b.lhs);
  if (!l.ok()) return l.status();
  StatusOr<std::optional<Column>> r = side(*b.rhs);
  if (!r.ok()) return r.status();
  const auto literal = [](const Expr& e) {
    return EvalRow(e, [](const VarRef&) { return Value(); });
  };
  Column out;
  if (!*l || !*r) {
    const Column& col = *l ? **l : **r;
    const Value lit = literal(*l ? *b.rhs : *b.lhs);
    for (const Cell& c : col) {
      out.push_back({c.time, *l ? Arithmetic(b.op, c.value, lit) : Arithmetic(b.op, lit, c.value)});
    }
    return out;
  }
  // Both sides are columns: join on time (both in output order), null where one lacks it.
  const Column& x = **l;
  const Column& y = **r;
  const auto before = [this](Timestamp a, Timestamp c) {
    return shape_.descending ? a > c : a < c;
  };
  std::size_t i = 0, j = 0;
  while (i < x.size() || j < y.size()) {
    if (j == y.size() || (i < x.size() && before(x[i].time, y[j].time))) {
      out.push_back({x[i++].time, std::monostate{}});
    } else if (i == x.size() || before(y[j].time, x[i].time)) {
      out.push_back({y[j++].time, std::monostate{}});
    } else {
      out.push_back({x[i].time, Arithmetic(b.op, x[i].value, y[j].value)});
      ++i, ++j;
    }
  }
  return out;
}

StatusOr<Column> GroupEval::EvalColumn(const Expr& e) {
  if (const auto* c = e.As<Call>()) {
    if (AggregateByName(c->name)) {
      if (shape_.mode != SelectMode::kAggregate) return Invalid("unexpected aggregate " + c->name);
      return AggregateColumn(*c);
    }
    if (TransformByName(c->name)) return TransformColumn(*c);
    return Invalid("unsupported function: " + c->name + "()");
  }
  if (const auto* b = e.As<BinaryExpr>(); b && ContainsCall(e, false)) return BinaryColumn(*b);
  if (shape_.mode != SelectMode::kRawTransform) {
    return Invalid("mixing aggregate and non-aggregate queries is not supported");
  }
  Column out;  // a raw expression under a transformation: one cell per row
  for (const RawRow& row : rows_) {
    Value v = EvalRow(e, [&](const VarRef& ref) { return Lookup(row, ref); });
    if (!std::holds_alternative<std::monostate>(v)) out.push_back({row.time, std::move(v)});
  }
  if (shape_.descending) std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::vector<Value>> GroupEval::JoinColumns(const std::vector<Column>& columns) const {
  std::map<Timestamp, std::vector<Value>> rows;
  for (std::size_t j = 0; j < columns.size(); ++j) {
    for (const Cell& c : columns[j]) {
      auto [it, fresh] = rows.try_emplace(c.time);
      if (fresh) it->second.resize(columns.size() + 1);
      it->second[j + 1] = c.value;
    }
  }
  std::vector<std::vector<Value>> out;
  out.reserve(rows.size());
  for (auto& [time, cells] : rows) {
    cells[0] = TimeValue{time};
    out.push_back(std::move(cells));
  }
  if (shape_.descending) std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::vector<Value>> GroupEval::RawRows() const {
  // A row shows when a field-derived cell has a value (tags alone do not make a row).
  std::vector<bool> from_field(shape_.fields.size(), false);
  for (std::size_t j = 0; j < shape_.fields.size(); ++j) {
    std::vector<const VarRef*> vars;
    CollectVars(shape_.fields[j].expr, vars);
    for (const VarRef* v : vars) from_field[j] = from_field[j] || !scope_.IsTag(*v);
  }
  std::vector<std::vector<Value>> out;
  for (const RawRow& row : rows_) {
    std::vector<Value> cells{TimeValue{row.time}};
    bool any = false;
    for (std::size_t j = 0; j < shape_.fields.size(); ++j) {
      cells.push_back(
          EvalRow(shape_.fields[j].expr, [&](const VarRef& v) { return Lookup(row, v); }));
      any = any || (from_field[j] && !std::holds_alternative<std::monostate>(cells.back()));
    }
    if (any) out.push_back(std::move(cells));
  }
  if (shape_.descending) std::reverse(out.begin(), out.end());
  return out;
}

StatusOr<std::vector<std::vector<Value>>> GroupEval::Run() {
  const TimeRange& range = scope_.where.range;
  start_ = range.start;
  end_ = range.end;
  if (shape_.mode != SelectMode::kAggregate) {
    for (const Field& f : shape_.fields) {
      std::vector<const VarRef*> vars;
      CollectVars(f.expr, vars);
      for (const VarRef* v : vars) {
        if (!scope_.IsTag(*v)) AddRowField(v->name);
      }
    }
    std::vector<const VarRef*> vars;
    for (const Expr* t : scope_.where.row_terms) CollectVars(*t, vars);
    for (const VarRef* v : vars) {
      if (!scope_.IsTag(*v)) AddRowField(v->name);
    }
    ReadRows(start_, end_);
    if (shape_.mode == SelectMode::kRaw) return RawRows();
  } else {
    if (shape_.interval > 0 && !range.bounded_start) {
      // InfluxDB starts an open-ended GROUP BY time() at the group's first point.
      std::vector<store::SeriesId> ids;
      for (const TagSet& ts : group_.tagsets) {
        for (const auto& [name, id] : ts.fields) ids.push_back(id);
      }
      std::optional<Timestamp> first = EarliestPoint(env_.store.windows(), ids, end_);
      if (!first) return std::vector<std::vector<Value>>{};
      start_ = *first;
    }
    if (shape_.interval > 0 && start_ < end_) {
      const auto floor_div = [](__int128 a, __int128 b) {
        return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
      };
      const __int128 buckets = floor_div(__int128{end_} - 1 - shape_.offset, shape_.interval) -
                               floor_div(__int128{start_} - shape_.offset, shape_.interval) + 1;
      const std::size_t max = env_.limits.max_buckets;
      if (max > 0 && buckets > static_cast<__int128>(max)) {
        return Status(StatusCode::kResourceExhausted,
                      "max-select-buckets limit exceeded: (" +
                          std::to_string(static_cast<long long>(buckets)) + "/" +
                          std::to_string(max) + ")");
      }
    }
    if (Status s = Aggregate(); !s.ok()) return s;
    const bool any = std::any_of(aggs_.begin(), aggs_.end(), [](const auto& a) {
      for (std::size_t i = 0; i < a.second.bucket_count(); ++i) {
        if (!a.second.state(i).empty()) return true;
      }
      return false;
    });
    if (!any) return std::vector<std::vector<Value>>{};
  }
  std::vector<Column> columns;
  for (const Field& f : shape_.fields) {
    StatusOr<Column> c = EvalColumn(f.expr);
    if (!c.ok()) return c.status();
    columns.push_back(std::move(c).value());
  }
  return JoinColumns(columns);
}

}  // namespace

bool MeasurementScope::IsTag(const VarRef& v) const {
  if (v.type == VarType::kTag) return true;
  if (v.type != VarType::kAny) return false;
  // A name that is no field is a tag, even one no series has: InfluxDB gives such a
  // tag the value "" (so `WHERE nope = ''` matches every series).
  return !field_types.contains(v.name);
}

bool IsAggregateName(std::string_view name) { return AggregateByName(name).has_value(); }

bool IsSelectorName(std::string_view name) {
  return name == "min" || name == "max" || name == "first" || name == "last" ||
         name == "percentile";
}

StatusOr<std::vector<std::vector<Value>>> EvaluateGroup(const StatementEnv& env,
                                                        const SelectShape& shape,
                                                        const MeasurementScope& scope,
                                                        const SeriesGroup& group) {
  return GroupEval(env, shape, scope, group).Run();
}

}  // namespace tidewatch::rules::internal
