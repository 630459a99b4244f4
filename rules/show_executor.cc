// SHOW, CREATE/DROP DATABASE, DROP MEASUREMENT/SERIES and DELETE, with InfluxDB 1.x's
// series names, column names and ordering.
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rules/internal/select_plan.h"
#include "rules/internal/statements.h"

namespace tidewatch::rules::internal {

namespace {

using store::PostingList;

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

const char* FieldTypeName(store::FieldType type) {
  switch (type) {
    case store::FieldType::kInteger:
      return "integer";
    case store::FieldType::kBoolean:
      return "boolean";
    case store::FieldType::kFloat:
      break;
  }
  return "float";
}

// LIMIT/OFFSET over a listing.
template <class T>
void Page(std::vector<T>& rows, std::int64_t limit, std::int64_t offset) {
  const auto skip =
      std::min(static_cast<std::size_t>(std::max<std::int64_t>(offset, 0)), rows.size());
  rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(skip));
  if (limit > 0 && rows.size() > static_cast<std::size_t>(limit)) {
    rows.resize(static_cast<std::size_t>(limit));
  }
}

std::vector<std::vector<Value>> Column1(const std::vector<std::string>& names) {
  std::vector<std::vector<Value>> rows;
  rows.reserve(names.size());
  for (const std::string& n : names) rows.push_back({n});
  return rows;
}

// A WHERE for metadata statements: tag terms (and, for DELETE, time); every variable is
// taken as a tag.
StatusOr<SplitCondition> MetaWhere(const std::optional<Expr>& where, const StatementEnv& env,
                                   bool time_allowed, const char* what) {
  StatusOr<SplitCondition> split = SplitWhere(
      where ? &*where : nullptr, [](const VarRef&) { return true; }, env.context.now_ns);
  if (!split.ok()) return split;
  if (!split->row_terms.empty())
    return Invalid(std::string(what) + " supports only tag conditions in WHERE");
  if (!time_allowed && (split->range.bounded_start || split->range.bounded_end)) {
    return Invalid(std::string(what) + " doesn't support time in WHERE clause");
  }
  return split;
}

// The series of `measurement` passing the tag terms of `where`.
StatusOr<PostingList> MatchingSeries(const StatementEnv& env, const std::string& db,
                                     const std::string& measurement, const SplitCondition& where) {
  return FilterSeries(env.store.index(), db, measurement, where.tag_terms);
}

// Line protocol escaping of a series key part (InfluxDB prints SHOW SERIES keys so).
std::string Escape(std::string_view s, bool measurement) {
  std::string out;
  for (const char c : s) {
    if (c == ',' || c == ' ' || (!measurement && c == '=')) out += '\\';
    out += c;
  }
  return out;
}

void RemoveSeries(const StatementEnv& env, const PostingList& ids) {
  // Windows first, then the index, so an id is reused only once no window holds it.
  env.store.windows().RemoveSeries(ids);
  env.store.index().Remove(ids);
}

StatusOr<std::vector<ResultSeries>> ShowMeasurementsOf(const ShowMeasurements& s,
                                                       const StatementEnv& env) {
  StatusOr<std::string> db = ResolveDb(env, s.on_db);
  if (!db.ok()) return db.status();
  StatusOr<SplitCondition> where = MetaWhere(s.where, env, false, "SHOW MEASUREMENTS");
  if (!where.ok()) return where.status();
  std::vector<Source> sources;
  if (s.with_measurement) sources.push_back(*s.with_measurement);
  std::vector<std::string> names = ResolveMeasurements(env.store.index(), *db, sources);
  if (!where->tag_terms.empty()) {
    std::vector<std::string> kept;
    for (std::string& m : names) {
      StatusOr<PostingList> ids = MatchingSeries(env, *db, m, *where);
      if (!ids.ok()) return ids.status();
      if (!ids->empty()) kept.push_back(std::move(m));
    }
    names = std::move(kept);
  }
  Page(names, s.limit, s.offset);
  if (names.empty()) return std::vector<ResultSeries>{};
  return std::vector<ResultSeries>{{"measurements", {}, {"name"}, Column1(names), false}};
}

// The tags of the series `ids`, as key → values.
std::map<std::string, std::set<std::string>> TagsOf(const store::SeriesIndex& index,
                                                    const PostingList& ids) {
  std::map<std::string, std::set<std::string>> tags;
  for (const store::SeriesId id : ids) {
    if (std::optional<store::SeriesInfo> info = index.Info(id)) {
      for (store::Tag& t : info->tags) tags[std::move(t.key)].insert(std::move(t.value));
    }
  }
  return tags;
}

StatusOr<std::vector<ResultSeries>> ShowTagKeysOf(const ShowTagKeys& s, const StatementEnv& env) {
  StatusOr<std::string> db = ResolveDb(env, s.on_db);
  if (!db.ok()) return db.status();
  StatusOr<SplitCondition> where = MetaWhere(s.where, env, false, "SHOW TAG KEYS");
  if (!where.ok()) return where.status();
  std::vector<ResultSeries> out;
  for (const std::string& m : ResolveMeasurements(env.store.index(), *db, s.sources)) {
    std::vector<std::string> keys;
    if (where->tag_terms.empty()) {
      keys = env.store.index().TagKeys(*db, m);
    } else {
      StatusOr<PostingList> ids = MatchingSeries(env, *db, m, *where);
      if (!ids.ok()) return ids.status();
      for (auto& [k, values] : TagsOf(env.store.index(), *ids)) keys.push_back(k);
    }
    Page(keys, s.limit, s.offset);
    if (!keys.empty()) out.push_back({m, {}, {"tagKey"}, Column1(keys), false});
  }
  return out;
}

bool KeySelected(const ShowTagValues& s, const std::string& key) {
  switch (s.op) {
    case TagKeyOp::kEq:
    case TagKeyOp::kIn:
      return std::find(s.keys.begin(), s.keys.end(), key) != s.keys.end();
    case TagKeyOp::kNeq:
      return std::find(s.keys.begin(), s.keys.end(), key) == s.keys.end();
    case TagKeyOp::kEqRegex:
      return std::regex_search(key, *s.key_regex->compiled);
    case TagKeyOp::kNeqRegex:
      return !std::regex_search(key, *s.key_regex->compiled);
  }
  return false;
}

StatusOr<std::vector<ResultSeries>> ShowTagValuesOf(const ShowTagValues& s,
                                                    const StatementEnv& env) {
  StatusOr<std::string> db = ResolveDb(env, s.on_db);
  if (!db.ok()) return db.status();
  StatusOr<SplitCondition> where = MetaWhere(s.where, env, false, "SHOW TAG VALUES");
  if (!where.ok()) return where.status();
  std::vector<ResultSeries> out;
  for (const std::string& m : ResolveMeasurements(env.store.index(), *db, s.sources)) {
    StatusOr<PostingList> ids = MatchingSeries(env, *db, m, *where);
    if (!ids.ok()) return ids.status();
    std::vector<std::vector<Value>> rows;
    for (auto& [key, values] : TagsOf(env.store.index(), *ids)) {
      if (!KeySelected(s, key)) continue;
      for (const std::string& v : values) rows.push_back({key, v});
    }
    Page(rows, s.limit, s.offset);
    if (!rows.empty()) out.push_back({m, {}, {"key", "value"}, std::move(rows), false});
  }
  return out;
}

StatusOr<std::vector<ResultSeries>> ShowFieldKeysOf(const ShowFieldKeys& s,
                                                    const StatementEnv& env) {
  StatusOr<std::string> db = ResolveDb(env, s.on_db);
  if (!db.ok()) return db.status();
  std::vector<ResultSeries> out;
  for (const std::string& m : ResolveMeasurements(env.store.index(), *db, s.sources)) {
    std::vector<std::vector<Value>> rows;
    for (const auto& [name, type] : env.store.index().FieldKeys(*db, m)) {
      rows.push_back({name, std::string(FieldTypeName(type))});
    }
    Page(rows, s.limit, s.offset);
    if (!rows.empty()) out.push_back({m, {}, {"fieldKey", "fieldType"}, std::move(rows), false});
  }
  return out;
}

StatusOr<std::vector<ResultSeries>> ShowSeriesOf(const ShowSeries& s, const StatementEnv& env) {
  StatusOr<std::string> db = ResolveDb(env, s.on_db);
  if (!db.ok()) return db.status();
  StatusOr<SplitCondition> where = MetaWhere(s.where, env, false, "SHOW SERIES");
  if (!where.ok()) return where.status();
  std::set<std::string> keys;  // one per tag set: fields do not make series in InfluxDB
  for (const std::string& m : ResolveMeasurements(env.store.index(), *db, s.sources)) {
    StatusOr<PostingList> ids = MatchingSeries(env, *db, m, *where);
    if (!ids.ok()) return ids.status();
    for (const store::SeriesId id : *ids) {
      std::optional<store::SeriesInfo> info = env.store.index().Info(id);
      if (!info) continue;
      std::string key = Escape(info->measurement, true);
      for (const store::Tag& t : info->tags)
        key += "," + Escape(t.key, false) + "=" + Escape(t.value, false);
      keys.insert(std::move(key));
    }
  }
  std::vector<std::string> rows(keys.begin(), keys.end());
  Page(rows, s.limit, s.offset);
  if (rows.empty()) return std::vector<ResultSeries>{};
  return std::vector<ResultSeries>{{"", {}, {"key"}, Column1(rows), false}};
}

// DROP SERIES and DELETE: the series of the sources (every measurement when none)
// passing the WHERE's tag terms.
StatusOr<PostingList> TargetSeries(const std::vector<Source>& sources, const SplitCondition& where,
                                   const StatementEnv& env, const std::string& db) {
  PostingList all;
  for (const std::string& m : ResolveMeasurements(env.store.index(), db, sources)) {
    StatusOr<PostingList> ids = MatchingSeries(env, db, m, where);
    if (!ids.ok()) return ids;
    all = store::Union(all, *ids);
  }
  return all;
}

StatusOr<std::vector<ResultSeries>> Other(const Statement& statement, const StatementEnv& env) {
  const std::vector<ResultSeries> none;
  if (std::holds_alternative<ShowDatabases>(statement)) {
    return std::vector<ResultSeries>{
        {"databases", {}, {"name"}, Column1(env.databases.List()), false}};
  }
  if (const auto* s = std::get_if<ShowMeasurements>(&statement)) return ShowMeasurementsOf(*s, env);
  if (const auto* s = std::get_if<ShowTagKeys>(&statement)) return ShowTagKeysOf(*s, env);
  if (const auto* s = std::get_if<ShowTagValues>(&statement)) return ShowTagValuesOf(*s, env);
  if (const auto* s = std::get_if<ShowFieldKeys>(&statement)) return ShowFieldKeysOf(*s, env);
  if (const auto* s = std::get_if<ShowSeries>(&statement)) return ShowSeriesOf(*s, env);
  if (const auto* s = std::get_if<ShowRetentionPolicies>(&statement)) {
    StatusOr<std::string> db = ResolveDb(env, s->on_db);
    if (!db.ok()) return db.status();
    return std::vector<ResultSeries>{
        {"",
         {},
         {"name", "duration", "shardGroupDuration", "replicaN", "default"},
         {{std::string("autogen"), std::string("0s"), std::string("168h0m0s"), std::int64_t{1},
           true}},
         false}};
  }
  if (std::holds_alternative<ShowContinuousQueries>(statement)) return none;
  if (const auto* s = std::get_if<CreateDatabase>(&statement)) {
    env.databases.Create(s->name);
    return none;
  }
  if (const auto* s = std::get_if<DropDatabase>(&statement)) {
    static_cast<void>(env.databases.Drop(s->name));
    return none;
  }
  if (const auto* s = std::get_if<DropMeasurement>(&statement)) {
    StatusOr<std::string> db = ResolveDb(env, "");
    if (!db.ok()) return db.status();
    RemoveSeries(env, env.store.index().SeriesOf(*db, s->name));
    return none;
  }
  if (const auto* s = std::get_if<DropSeries>(&statement)) {
    StatusOr<std::string> db = ResolveDb(env, "");
    if (!db.ok()) return db.status();
    StatusOr<SplitCondition> where = MetaWhere(s->where, env, false, "DROP SERIES");
    if (!where.ok()) return where.status();
    StatusOr<PostingList> ids = TargetSeries(s->sources, *where, env, *db);
    if (!ids.ok()) return ids.status();
    RemoveSeries(env, *ids);
    return none;
  }
  if (const auto* s = std::get_if<Delete>(&statement)) {
    StatusOr<std::string> db = ResolveDb(env, "");
    if (!db.ok()) return db.status();
    StatusOr<SplitCondition> where = MetaWhere(s->where, env, true, "DELETE");
    if (!where.ok()) return where.status();
    StatusOr<PostingList> ids = TargetSeries(s->sources, *where, env, *db);
    if (!ids.ok()) return ids.status();
    static_cast<void>(env.store.Delete(*ids, where->range.start, where->range.end));
    return none;
  }
  return Status(StatusCode::kInvalidArgument, "continuous queries are not supported yet");
}

}  // namespace

StatusOr<std::vector<ResultSeries>> ExecuteOther(const Statement& statement,
                                                 const StatementEnv& env) {
  return Other(statement, env);
}

}  // namespace tidewatch::rules::internal
