// SELECT: sources → measurements, wildcard expansion, column names, GROUP BY keys,
// the series limit, per-group evaluation (internal/select_group.cc, groups in parallel
// when the statement is large), then LIMIT/OFFSET, SLIMIT/SOFFSET and the row limit.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <map>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rules/internal/select_group.h"
#include "rules/internal/select_plan.h"
#include "rules/internal/series_groups.h"
#include "rules/internal/statements.h"
#include "rules/parser.h"
#include "rules/transforms.h"

namespace tidewatch::rules::internal {

namespace {

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

// InfluxDB's name of an unaliased field: the function name, the variable, or for
// arithmetic the variables and functions it mentions joined by '_'.
void NameParts(const Expr& e, std::vector<std::string>& parts) {
  if (const auto* v = e.As<VarRef>()) parts.push_back(v->name);
  if (const auto* c = e.As<Call>()) parts.push_back(c->name);
  if (const auto* b = e.As<BinaryExpr>()) {
    NameParts(*b->lhs, parts);
    NameParts(*b->rhs, parts);
  }
}

std::string FieldName(const Field& f) {
  if (!f.alias.empty()) return f.alias;
  std::vector<std::string> parts;
  NameParts(f.expr, parts);
  std::string name;
  for (const std::string& p : parts) name += (name.empty() ? "" : "_") + p;
  return name;
}

// Aliases first, then generated names, a repeat getting _1, _2, ... (InfluxDB's
// SelectStatement.ColumnNames).
std::vector<std::string> ColumnNames(const std::vector<Field>& fields) {
  std::vector<std::string> names(fields.size());
  std::map<std::string, int> seen;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!fields[i].alias.empty()) {
      names[i] = fields[i].alias;
      seen[names[i]] = 1;
    }
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!names[i].empty()) continue;
    std::string name = FieldName(fields[i]);
    if (auto it = seen.find(name); it != seen.end()) {
      for (int count = it->second;; ++count) {
        std::string resolved = name + "_" + std::to_string(count);
        if (!seen.contains(resolved)) {
          it->second = count + 1;
          name = resolved;
          break;
        }
      }
    }
    ++seen[name];
    names[i] = name;
  }
  names.insert(names.begin(), "time");
  return names;
}

// The first call in `e` (outermost first) whose name satisfies `pred`, or nullptr.
const Call* FindCall(const Expr& e, bool (*pred)(std::string_view)) {
  if (const auto* c = e.As<Call>()) {
    if (pred(c->name)) return c;
    for (const Expr& a : c->args) {
      if (const Call* found = FindCall(a, pred)) return found;
    }
    return nullptr;
  }
  if (const auto* b = e.As<BinaryExpr>()) {
    const Call* found = FindCall(*b->lhs, pred);
    return found != nullptr ? found : FindCall(*b->rhs, pred);
  }
  return nullptr;
}

bool HasCall(const Expr& e, bool (*pred)(std::string_view)) { return FindCall(e, pred) != nullptr; }

bool IsTransform(std::string_view name) { return TransformByName(name).has_value(); }

// Functions InfluxQL has that tidewatch does not run (mode, top, abs, ...): refused up
// front, so a statement fails the same whether or not any series matches.
bool IsUnsupported(std::string_view name) { return !IsAggregateName(name) && !IsTransform(name); }

struct Target {
  std::string db;
  MeasurementScope scope;
};

// `*` → every field and tag (not grouped by), sorted together by name; fn(*) → one
// call per field, aliased fn_field; `time` dropped (it is always the first column).
std::vector<Field> ExpandFields(const std::vector<Field>& fields,
                                const std::map<std::string, store::FieldType>& all_fields,
                                const std::set<std::string>& all_tags,
                                const std::set<std::string>& grouped) {
  std::vector<Field> out;
  for (const Field& f : fields) {
    if (IsTimeRef(f.expr)) continue;
    if (const auto* w = f.expr.As<Wildcard>()) {
      std::vector<std::pair<std::string, VarType>> names;
      if (w->type != VarType::kTag) {
        for (const auto& [name, type] : all_fields) names.emplace_back(name, VarType::kField);
      }
      if (w->type != VarType::kField) {
        for (const std::string& t : all_tags) {
          if (!grouped.contains(t) && !all_fields.contains(t)) names.emplace_back(t, VarType::kTag);
        }
      }
      std::sort(names.begin(), names.end());
      for (auto& [name, type] : names) {
        Field field;  // built in steps: GCC 12 -O3 misreports a braced Field as uninitialised
        field.expr.node = VarRef{std::move(name), type};
        out.push_back(std::move(field));
      }
      continue;
    }
    const auto* c = f.expr.As<Call>();
    if (c != nullptr && !c->args.empty() && c->args[0].As<Wildcard>() != nullptr) {
      for (const auto& [name, type] : all_fields) {
        const bool numeric_only = c->name != "count" && c->name != "first" && c->name != "last" &&
                                  c->name != "min" && c->name != "max";
        if (numeric_only && type == store::FieldType::kBoolean) continue;
        Call call = *c;
        call.args[0].node = VarRef{name, VarType::kAny};
        Field field;
        field.expr.node = std::move(call);
        field.alias = (f.alias.empty() ? c->name : f.alias) + "_" + name;
        out.push_back(std::move(field));
      }
      continue;
    }
    out.push_back(f);
  }
  return out;
}

std::vector<std::string> GroupKeys(const std::vector<Dimension>& dims,
                                   const std::vector<std::string>& tag_keys) {
  std::set<std::string> keys;
  for (const Dimension& d : dims) {
    if (d.kind == Dimension::Kind::kTag) keys.insert(d.tag);
    if (d.kind == Dimension::Kind::kWildcard) keys.insert(tag_keys.begin(), tag_keys.end());
    if (d.kind == Dimension::Kind::kRegex) {
      for (const std::string& k : tag_keys) {
        if (std::regex_search(k, *d.regex->compiled)) keys.insert(k);
      }
    }
  }
  return {keys.begin(), keys.end()};
}

void ApplyLimits(const SelectStatement& select, const StatementEnv& env,
                 std::vector<ResultSeries>& series) {
  const auto soffset = static_cast<std::size_t>(std::max<std::int64_t>(select.soffset, 0));
  series.erase(series.begin(),
               series.begin() + static_cast<std::ptrdiff_t>(std::min(soffset, series.size())));
  if (select.slimit > 0 && series.size() > static_cast<std::size_t>(select.slimit)) {
    series.resize(static_cast<std::size_t>(select.slimit));
  }
  std::size_t rows = 0;
  const std::size_t max = env.limits.max_rows;
  for (std::size_t i = 0; i < series.size() && max > 0; ++i) {
    if (rows + series[i].values.size() > max) {
      const std::size_t keep = max - rows;
      series[i].values.resize(keep);
      series.resize(keep == 0 ? i : i + 1);
      if (!series.empty()) series.back().partial = true;
      return;
    }
    rows += series[i].values.size();
  }
}

FillSpec ToFillSpec(const Fill& fill) {
  switch (fill.kind) {
    case FillKind::kNull:
      return {FillMode::kNull, 0};
    case FillKind::kNone:
      return {FillMode::kNone, 0};
    case FillKind::kPrevious:
      return {FillMode::kPrevious, 0};
    case FillKind::kLinear:
      return {FillMode::kLinear, 0};
    case FillKind::kValue:
      return {FillMode::kValue, fill.value};
  }
  return {};
}

// GROUP BY groups are spread over threads only at this many estimated points per
// thread, so no extra thread below 2^17 points and all four of the default
// query.threads from 2^18. Decoding and folding cost 2-4 ns a point, so a thread gets
// at least ~0.2 ms of work against the tens of microseconds it costs to start and
// join: the threads never cost more than a few percent, and a statement below 2^17
// points takes well under a millisecond on one thread anyway.
constexpr std::uint64_t kMinPointsPerGroupThread = std::uint64_t{1} << 16;

using GroupRows = std::vector<std::vector<Value>>;

// Evaluates every group, results by group index. With several groups and enough
// points, on up to env.limits.threads threads (the caller's included), each taking a
// contiguous range of groups of about equal series count; each group's own
// aggregation then gets the threads left over (threads / ranges, at least 1). Every
// thread only reads the statement's shared state and the store, and builds its own
// GroupEval per group. So the rows are those of a serial loop whose groups aggregate
// on as many inner threads: with 1 inner thread (threads = 1, or at least as many
// ranges as threads) bit for bit; otherwise sum, mean and stddev may differ by
// rounding, as AggregateParallel documents.
//
// Errors: the status of the lowest-index failing group, where a serial loop stops:
// a thread skips a group only when one before it has failed. An exception from a
// group (or std::system_error from starting a thread) propagates after every
// started thread has been joined.
StatusOr<std::vector<GroupRows>> EvaluateGroups(const StatementEnv& env, const SelectShape& shape,
                                                const MeasurementScope& scope,
                                                std::span<const SeriesGroup> groups) {
  // Points are estimated as the store's average per series times the group's series,
  // ignoring the time range: enough to decide on threads, and free.
  std::vector<std::uint64_t> weight(groups.size(), 0);  // store series per group
  std::uint64_t total_weight = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (const TagSet& t : groups[g].tagsets) weight[g] += t.fields.size();
    total_weight += weight[g];
  }
  const store::WindowStore& windows = env.store.windows();
  const std::uint64_t store_series = std::max<std::uint64_t>(windows.series_count(), 1);
  const auto points = static_cast<std::uint64_t>(static_cast<double>(windows.point_count()) /
                                                 static_cast<double>(store_series) *
                                                 static_cast<double>(total_weight));
  const std::size_t max_threads = std::max<std::size_t>(env.limits.threads, 1);
  const auto by_points = std::max<std::uint64_t>(points / kMinPointsPerGroupThread, 1);
  const std::size_t threads = static_cast<std::size_t>(
      std::min<std::uint64_t>(std::min(max_threads, groups.size()), by_points));
  // Range k is [cuts[k], cuts[k + 1]), about total_weight / threads series each.
  std::vector<std::size_t> cuts{0};
  std::uint64_t acc = 0;
  for (std::size_t g = 0; g + 1 < groups.size() && cuts.size() < threads; ++g) {
    acc += weight[g];
    if (acc * threads >= total_weight * cuts.size()) cuts.push_back(g + 1);
  }
  cuts.push_back(groups.size());
  const std::size_t ranges = cuts.size() - 1;

  QueryLimits inner_limits = env.limits;
  inner_limits.threads = std::max<std::size_t>(max_threads / ranges, 1);
  const StatementEnv inner{env.store, env.databases, inner_limits, env.context, env.deadline};

  std::vector<GroupRows> rows(groups.size());
  std::vector<Status> failed(groups.size());
  std::atomic<std::size_t> first_failed{groups.size()};
  // Groups [begin, end) in order, stopping at its own failure or at a group after
  // another thread's earliest failure. Writes only rows[g] and failed[g] of its range.
  const auto run = [&](std::size_t begin, std::size_t end) {
    for (std::size_t g = begin; g < end && g < first_failed.load(std::memory_order_relaxed); ++g) {
      Status s = env.CheckDeadline();
      if (s.ok()) {
        StatusOr<GroupRows> r = EvaluateGroup(inner, shape, scope, groups[g]);
        if (r.ok()) {
          rows[g] = std::move(r).value();
          continue;
        }
        s = r.status();
      }
      failed[g] = std::move(s);
      std::size_t seen = first_failed.load(std::memory_order_relaxed);
      while (g < seen && !first_failed.compare_exchange_weak(seen, g, std::memory_order_relaxed)) {
      }
      return;
    }
  };

  if (ranges == 1) {
    run(0, groups.size());
  } else {
    std::vector<std::exception_ptr> errors(ranges);
    const auto guarded = [&](std::size_t k) {
      try {
        run(cuts[k], cuts[k + 1]);
      } catch (...) {
        errors[k] = std::current_exception();
      }
    };
    {
      std::vector<std::jthread> workers;  // joined on leaving the scope, also on a throw
      for (std::size_t k = 1; k < ranges; ++k) workers.emplace_back(guarded, k);
      guarded(0);
    }
    for (const std::exception_ptr& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  }
  const std::size_t f = first_failed.load(std::memory_order_relaxed);
  if (f < groups.size()) return failed[f];
  return rows;
}

}  // namespace

StatusOr<std::vector<ResultSeries>> ExecuteSelect(const SelectStatement& select,
                                                  const StatementEnv& env) {
  if (Status s = ValidateSelect(select); !s.ok()) return s;
  for (const Field& f : select.fields) {
    if (const Call* c = FindCall(f.expr, IsUnsupported)) {
      return Invalid("unsupported function: " + c->name + "()");
    }
  }
  if (select.into) return Invalid("SELECT INTO is supported only inside continuous queries");
  const store::SeriesIndex& index = env.store.index();

  // Sources → (db, measurement), and the union of their fields and tags for wildcards.
  std::map<std::pair<std::string, std::string>, bool> targets_by_name;  // (measurement, db)
  for (const Source& src : select.sources) {
    StatusOr<std::string> db = ResolveDb(env, src.database);
    if (!db.ok()) return db.status();
    for (std::string& m : ResolveMeasurements(index, *db, {src})) targets_by_name[{m, *db}] = true;
  }
  std::vector<Target> targets;
  std::map<std::string, store::FieldType> all_fields;
  std::set<std::string> all_tags;
  for (const auto& [key, unused] : targets_by_name) {
    Target t{key.second, {key.second, key.first, index.TagKeys(key.second, key.first), {}, {}}};
    for (const auto& [name, type] : index.FieldKeys(t.db, key.first)) {
      t.scope.field_types.emplace(name, type);
      all_fields.emplace(name, type);
    }
    all_tags.insert(t.scope.tag_keys.begin(), t.scope.tag_keys.end());
    targets.push_back(std::move(t));
  }

  SelectShape shape;
  std::set<std::string> grouped;
  for (const Dimension& d : select.dimensions) {
    if (d.kind == Dimension::Kind::kTime) {
      shape.interval = d.interval_ns;
      shape.offset = d.offset_ns;
    }
  }
  for (const Target& t : targets) {
    for (const std::string& k : GroupKeys(select.dimensions, t.scope.tag_keys)) grouped.insert(k);
  }
  shape.fields = ExpandFields(select.fields, all_fields, all_tags, grouped);
  if (shape.fields.empty()) {
    if (targets.empty()) return std::vector<ResultSeries>{};
    return Invalid("at least 1 non-time field must be queried");
  }
  const bool aggregate = std::any_of(shape.fields.begin(), shape.fields.end(), [](const Field& f) {
    return HasCall(f.expr, IsAggregateName);
  });
  const bool transform = std::any_of(shape.fields.begin(), shape.fields.end(),
                                     [](const Field& f) { return HasCall(f.expr, IsTransform); });
  shape.mode = aggregate ? SelectMode::kAggregate
                         : (transform ? SelectMode::kRawTransform : SelectMode::kRaw);
  if (shape.interval > 0 && !aggregate)
    return Invalid("GROUP BY requires at least one aggregate function");
  shape.fill = ToFillSpec(select.fill);
  shape.descending = select.order_desc;
  if (shape.fields.size() == 1 && shape.interval == 0) {
    const auto* c = shape.fields[0].expr.As<Call>();
    shape.selector_time = c != nullptr && IsSelectorName(c->name);
  }
  const std::vector<std::string> columns = ColumnNames(shape.fields);
  const Expr* where = select.condition ? &*select.condition : nullptr;

  std::vector<ResultSeries> out;
  std::size_t series_count = 0;
  for (Target& t : targets) {
    MeasurementScope& scope = t.scope;
    StatusOr<SplitCondition> split = SplitWhere(
        where, [&scope](const VarRef& v) { return scope.IsTag(v); }, env.context.now_ns);
    if (!split.ok()) return split.status();
    scope.where = std::move(split).value();
    TimeRange& range = scope.where.range;
    if (shape.interval > 0 && !range.bounded_end) {
      // InfluxDB ends an open GROUP BY time() query at now().
      range.end =
          std::min(range.end, env.context.now_ns == std::numeric_limits<store::Timestamp>::max()
                                  ? env.context.now_ns
                                  : env.context.now_ns + 1);
    }
    StatusOr<store::PostingList> ids =
        FilterSeries(index, t.db, scope.measurement, scope.where.tag_terms);
    if (!ids.ok()) return ids.status();
    std::vector<SeriesGroup> groups =
        GroupSeries(index, *ids, GroupKeys(select.dimensions, scope.tag_keys));
    for (const SeriesGroup& g : groups) series_count += g.tagsets.size();
    if (env.limits.max_series > 0 && series_count > env.limits.max_series) {
      return Status(StatusCode::kResourceExhausted,
                    "max-select-series limit exceeded: (" + std::to_string(series_count) + "/" +
                        std::to_string(env.limits.max_series) + ")");
    }
    StatusOr<std::vector<GroupRows>> evaluated = EvaluateGroups(env, shape, scope, groups);
    if (!evaluated.ok()) return evaluated.status();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      GroupRows& values = (*evaluated)[g];
      const auto offset = static_cast<std::size_t>(std::max<std::int64_t>(select.offset, 0));
      values.erase(values.begin(),
                   values.begin() + static_cast<std::ptrdiff_t>(std::min(offset, values.size())));
      if (select.limit > 0 && values.size() > static_cast<std::size_t>(select.limit)) {
        values.resize(static_cast<std::size_t>(select.limit));
      }
      if (values.empty()) continue;
      out.push_back({scope.measurement, groups[g].tags, columns, std::move(values), false});
    }
  }
  ApplyLimits(select, env, out);
  return out;
}

}  // namespace tidewatch::rules::internal
