// SELECT: sources → measurements, wildcard expansion, column names, GROUP BY keys,
// the series limit, per-group evaluation (internal/select_group.cc), then LIMIT/OFFSET,
// SLIMIT/SOFFSET and the row limit.
#include <algorithm>
#include <map>
#include <set>
#include <string>
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
    for (const SeriesGroup& g : groups) {
      if (Status s = env.CheckDeadline(); !s.ok()) return s;
      StatusOr<std::vector<std::vector<Value>>> rows = EvaluateGroup(env, shape, scope, g);
      if (!rows.ok()) return rows.status();
      std::vector<std::vector<Value>>& values = *rows;
      const auto offset = static_cast<std::size_t>(std::max<std::int64_t>(select.offset, 0));
      values.erase(values.begin(),
                   values.begin() + static_cast<std::ptrdiff_t>(std::min(offset, values.size())));
      if (select.limit > 0 && values.size() > static_cast<std::size_t>(select.limit)) {
        values.resize(static_cast<std::size_t>(select.limit));
      }
      if (values.empty()) continue;
      out.push_back({scope.measurement, g.tags, columns, std::move(values), false});
    }
  }
  ApplyLimits(select, env, out);
  return out;
}

}  // namespace tidewatch::rules::internal
