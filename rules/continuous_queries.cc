#include "rules/continuous_queries.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <limits>
#include <regex>
#include <utility>
#include <variant>

#include "rules/parser.h"
#include "rules/parser_impl.h"
#include "rules/statement_text.h"
#include "rules/window_query.h"

namespace tidewatch::rules {

namespace {

using store::Timestamp;

constexpr Timestamp kNone = std::numeric_limits<Timestamp>::min();

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

// Line protocol escaping (docs/LINE_PROTOCOL.md): a backslash before ',' and ' ' in a
// measurement, and before ',', '=' and ' ' in tag keys, tag values and field keys.
void AppendEscaped(std::string_view name, bool measurement, std::string& out) {
  for (const char c : name) {
    if (c == ',' || c == ' ' || (!measurement && c == '=')) out += '\\';
    out += c;
  }
}

template <class T>
void AppendNumber(T value, std::string& out) {
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, r.ptr);
}

// `key=value` for a cell, or false for one that writes nothing (null, non-finite).
bool AppendField(std::string_view key, const Value& value, std::string& out) {
  const std::size_t mark = out.size();
  AppendEscaped(key, false, out);
  out += '=';
  if (const auto* d = std::get_if<double>(&value); d && std::isfinite(*d)) {
    AppendNumber(*d, out);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    AppendNumber(*i, out);
    out += 'i';
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out += *b ? "true" : "false";
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    out += '"';
    for (const char c : *s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  } else {
    out.resize(mark);
    return false;
  }
  return true;
}

// The GROUP BY time() dimension (validated statements have at most one).
const Dimension* TimeDimension(const SelectStatement& select) {
  for (const Dimension& d : select.dimensions) {
    if (d.kind == Dimension::Kind::kTime) return &d;
  }
  return nullptr;
}

}  // namespace

struct ContinuousQueries::Cq {
  Cq(CreateContinuousQuery s, std::string t, WindowPolicy policy)
      : statement(std::move(s)), text(std::move(t)), tracker(policy) {}

  // Whether the CQ's FROM names measurement `m` of database `db`.
  bool Reads(std::string_view db, std::string_view m) const {
    for (const Source& source : statement.select.sources) {
      const std::string& source_db = source.database.empty() ? statement.db : source.database;
      if (source_db != db) continue;
      if (source.regex ? std::regex_search(m.begin(), m.end(), *source.regex->compiled)
                       : source.name == m) {
        return true;
      }
    }
    return false;
  }

  // Constant after construction.
  const CreateContinuousQuery statement;
  const std::string text;  // as stored in the catalog and shown by SHOW

  WindowTracker tracker;
  std::vector<BucketRange> pending;  // guarded by run_mu_: taken, not yet written
  std::atomic<std::uint64_t> buckets_emitted{0};
  std::atomic<std::uint64_t> lines_written{0};
  std::atomic<std::uint64_t> run_errors{0};
  mutable std::mutex error_mu;
  std::string last_error;  // guarded by error_mu
};

struct ContinuousQueries::CqSet {
  std::vector<std::shared_ptr<Cq>> cqs;  // sorted by (db, name)
};

ContinuousQueries::ContinuousQueries(Catalog& catalog, store::Store& store, QueryExecutor& executor,
                                     ContinuousQueryOutput output, ContinuousQueryOptions options)
    : catalog_(catalog),
      store_(store),
      executor_(executor),
      output_(std::move(output)),
      options_(options),
      set_(std::make_shared<const CqSet>()) {}

ContinuousQueries::~ContinuousQueries() = default;

StatusOr<std::shared_ptr<ContinuousQueries::Cq>> ContinuousQueries::Build(
    const CreateContinuousQuery& statement, std::string text) const {
  const SelectStatement& select = statement.select;
  if (!select.into) return Invalid("continuous query requires INTO");
  if (Status valid = ValidateSelect(select); !valid.ok()) return valid;
  const Dimension* time = TimeDimension(select);
  if (time == nullptr || time->interval_ns <= 0) {
    return Invalid("continuous query requires GROUP BY time() and an aggregate function");
  }
  WindowPolicy policy;
  policy.interval_ns = time->interval_ns;
  // GROUP BY time(10m, -3m) aligns as time(10m, 7m).
  policy.offset_ns =
      ((time->offset_ns % policy.interval_ns) + policy.interval_ns) % policy.interval_ns;
  policy.lateness_ns =
      statement.resample_for_ns > 0
          ? std::max<std::int64_t>(statement.resample_for_ns - policy.interval_ns, 0)
          : options_.default_lateness_ns;
  policy.idle_timeout_ns = statement.resample_every_ns > 0 ? statement.resample_every_ns
                                                           : options_.default_idle_timeout_ns;
  policy.late = statement.late == CqLatePolicy::kIgnore ? LatePolicy::kIgnore : LatePolicy::kReemit;
  return std::make_shared<Cq>(statement, std::move(text), policy);
}

void ContinuousQueries::Publish(const std::shared_ptr<Cq>& add,
                                const std::function<bool(const Cq&)>& remove) {
  auto next = std::make_shared<CqSet>();
  const std::shared_ptr<const CqSet> current = Current();
  for (const std::shared_ptr<Cq>& cq : current->cqs) {
    if (!remove || !remove(*cq)) next->cqs.push_back(cq);
  }
  if (add) next->cqs.push_back(add);
  std::sort(next->cqs.begin(), next->cqs.end(), [](const auto& a, const auto& b) {
    return std::tie(a->statement.db, a->statement.name) <
           std::tie(b->statement.db, b->statement.name);
  });
  std::lock_guard lock(mu_);
  set_ = std::move(next);
}

std::shared_ptr<const ContinuousQueries::CqSet> ContinuousQueries::Current() const {
  std::lock_guard lock(mu_);
  return set_;
}

Status ContinuousQueries::Load() {
  std::lock_guard admin(admin_mu_);
  StatusOr<std::vector<ContinuousQueryRecord>> records = catalog_.ListContinuousQueries();
  if (!records.ok()) return records.status();
  Status first_bad;
  for (const ContinuousQueryRecord& record : *records) {
    StatusOr<Statement> parsed = ParseStatement(record.text);
    StatusOr<std::shared_ptr<Cq>> cq = Status(StatusCode::kInvalidArgument, "not a CREATE");
    if (!parsed.ok()) {
      cq = parsed.status();
    } else if (const auto* create = std::get_if<CreateContinuousQuery>(&*parsed)) {
      cq = Build(*create, record.text);
    }
    if (cq.ok()) {
      Publish(*cq, {});
    } else if (first_bad.ok()) {
      first_bad = Status(StatusCode::kDataLoss, "continuous query " + record.db + "." +
                                                    record.name + ": " + cq.status().message());
    }
  }
  return first_bad;
}

Status ContinuousQueries::Create(const CreateContinuousQuery& statement) {
  std::string text = ToString(Statement{statement});
  StatusOr<std::shared_ptr<Cq>> cq = Build(statement, text);
  if (!cq.ok()) return cq.status();
  std::lock_guard admin(admin_mu_);
  StatusOr<ContinuousQueryRecord> existing =
      catalog_.GetContinuousQuery(statement.db, statement.name);
  if (existing.ok()) {
    if (internal::Lower(existing->text) == internal::Lower(text)) return Status::Ok();
    return Invalid("continuous query already exists");
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  if (StatusOr<ContinuousQueryRecord> created =
          catalog_.CreateContinuousQuery(statement.db, statement.name, text);
      !created.ok()) {
    return created.status();
  }
  Publish(*cq, {});
  return Status::Ok();
}

Status ContinuousQueries::Drop(const DropContinuousQuery& statement) {
  std::lock_guard admin(admin_mu_);
  if (Status deleted = catalog_.DeleteContinuousQuery(statement.db, statement.name);
      !deleted.ok()) {
    if (deleted.code() == StatusCode::kNotFound) {
      return Status(StatusCode::kNotFound, "continuous query not found");
    }
    return deleted;
  }
  Publish(nullptr, [&statement](const Cq& cq) {
    return cq.statement.db == statement.db && cq.statement.name == statement.name;
  });
  return Status::Ok();
}

void ContinuousQueries::DropDatabase(std::string_view db) {
  std::lock_guard admin(admin_mu_);
  for (const std::shared_ptr<Cq>& cq : Current()->cqs) {
    if (cq->statement.db != db) continue;
    // A CQ whose catalog row cannot be deleted stays, so the catalog and the set agree.
    if (catalog_.DeleteContinuousQuery(cq->statement.db, cq->statement.name).ok()) {
      Publish(nullptr, [&cq](const Cq& other) { return &other == cq.get(); });
    }
  }
}

std::vector<ResultSeries> ContinuousQueries::Show(const std::vector<std::string>& databases) {
  const std::shared_ptr<const CqSet> set = Current();
  std::vector<ResultSeries> out;
  for (const std::string& db : databases) {
    ResultSeries series{db, {}, {"name", "query"}, {}, false};
    for (const std::shared_ptr<Cq>& cq : set->cqs) {
      if (cq->statement.db == db) series.values.push_back({cq->statement.name, cq->text});
    }
    out.push_back(std::move(series));
  }
  return out;
}

void ContinuousQueries::Resolve(store::SeriesId series, const CqSet& set, Route& route) {
  route.begin = static_cast<std::uint32_t>(targets_.size());
  route.count = 0;
  const std::optional<store::SeriesInfo> info = store_.index().Info(series);
  if (!info) return;
  for (const std::shared_ptr<Cq>& cq : set.cqs) {
    if (!cq->Reads(info->db, info->measurement)) continue;
    targets_.push_back(&cq->tracker);
    ++route.count;
  }
}

void ContinuousQueries::OnPoints(std::span<const store::Point> points, Timestamp now) {
  std::lock_guard lock(mu_);
  if (set_->cqs.empty()) return;
  // Ids are reused after removals, and a new set has other trackers: start over.
  const std::uint64_t generation = store_.index().removal_generation();
  if (route_set_ != set_ || route_generation_ != generation) {
    routes_.clear();
    targets_.clear();
    route_set_ = set_;
    route_generation_ = generation;
  }
  for (const store::Point& point : points) {
    if (point.series >= routes_.size()) routes_.resize(std::size_t{point.series} + 1);
    Route& route = routes_[point.series];
    if (route.begin == Route::kUnresolved) Resolve(point.series, *route_set_, route);
    for (std::uint32_t i = route.begin; i < route.begin + route.count; ++i) {
      targets_[i]->Observe(point.ts, now);
    }
  }
}

void ContinuousQueries::RunDue(Timestamp now) {
  std::lock_guard run(run_mu_);
  const std::shared_ptr<const CqSet> set = Current();
  for (const std::shared_ptr<Cq>& cq : set->cqs) RunOne(*cq, now);
}

void ContinuousQueries::RunOne(Cq& cq, Timestamp now) {
  cq.tracker.TakeReady(now, cq.pending);
  const std::int64_t interval = cq.tracker.policy().interval_ns;
  std::int64_t step = 0;
  if (__builtin_mul_overflow(std::max<std::int64_t>(options_.max_buckets_per_query, 1), interval,
                             &step)) {
    step = std::numeric_limits<std::int64_t>::max();
  }
  std::size_t done = 0;
  for (; done < cq.pending.size(); ++done) {
    BucketRange& range = cq.pending[done];
    bool written = true;
    // Long ranges in pieces; a written piece moves the range's start, so a retry
    // resumes after it.
    while (written && range.start < range.end) {
      const bool longer =
          static_cast<std::uint64_t>(range.end) - static_cast<std::uint64_t>(range.start) >
          static_cast<std::uint64_t>(step);
      const Timestamp piece_end = longer ? range.start + step : range.end;
      written = Emit(cq, {range.start, piece_end, range.reemit}, now);
      if (written) range.start = piece_end;
    }
    if (!written) break;
  }
  cq.pending.erase(cq.pending.begin(), cq.pending.begin() + static_cast<std::ptrdiff_t>(done));
}

bool ContinuousQueries::Emit(Cq& cq, BucketRange range, Timestamp now) {
  const CreateContinuousQuery& s = cq.statement;
  const StatementResult result = RunSelectOver(executor_, s.select, s.db, range, now);
  const auto fail = [&cq](std::string message) {
    ++cq.run_errors;
    std::lock_guard lock(cq.error_mu);
    cq.last_error = std::move(message);
  };
  if (result.error) {
    fail("query [" + std::to_string(range.start) + ", " + std::to_string(range.end) +
         "): " + *result.error);
    return true;  // deterministic: retrying the same range would fail the same way
  }
  const Into& into = *s.select.into;
  const std::string& db = into.database.empty() ? s.db : into.database;
  std::string text;
  std::size_t lines = 0;
  std::uint64_t written = 0;
  const auto flush = [&]() {
    if (lines == 0) return true;
    if (Status status = output_({.cq_db = s.db, .cq_name = s.name, .into_db = db,
                                 .line_protocol = text});
        !status.ok()) {
      fail("output: " + status.message());
      return false;
    }
    written += lines;
    text.clear();
    lines = 0;
    return true;
  };
  for (const ResultSeries& series : result.series) {
    std::string prefix;
    AppendEscaped(into.measurement.empty() ? series.name : into.measurement, true, prefix);
    for (const auto& [key, value] : series.tags) {
      if (value.empty()) continue;
      prefix += ',';
      AppendEscaped(key, false, prefix);
      prefix += '=';
      AppendEscaped(value, false, prefix);
    }
    for (const std::vector<Value>& row : series.values) {
      const auto* time = row.empty() ? nullptr : std::get_if<TimeValue>(&row[0]);
      if (time == nullptr) continue;
      const std::size_t mark = text.size();
      text += prefix;
      char separator = ' ';
      for (std::size_t i = 1; i < row.size() && i < series.columns.size(); ++i) {
        const std::size_t before = text.size();
        text += separator;
        if (AppendField(series.columns[i], row[i], text)) {
          separator = ',';
        } else {
          text.resize(before);
        }
      }
      if (separator == ' ') {  // every cell null: no line
        text.resize(mark);
        continue;
      }
      text += ' ';
      AppendNumber(time->ns, text);
      text += '\n';
      if (++lines >= options_.max_lines_per_write && !flush()) return false;
    }
  }
  if (!flush()) return false;
  cq.lines_written += written;
  if (!range.reemit) {
    cq.buckets_emitted +=
        static_cast<std::uint64_t>((range.end - range.start) / cq.tracker.policy().interval_ns);
  }
  std::lock_guard lock(cq.error_mu);
  cq.last_error.clear();
  return true;
}

Timestamp ContinuousQueries::NewestSourceTime(const Cq& cq) const {
  Timestamp newest = kNone;
  store::SeriesSnapshot snapshot;
  for (const std::string& db : store_.index().Databases()) {
    for (const std::string& m : store_.index().Measurements(db)) {
      if (!cq.Reads(db, m)) continue;
      for (const store::SeriesId id : store_.index().SeriesOf(db, m)) {
        if (!store_.windows().Read(id, kNone, std::numeric_limits<Timestamp>::max(), snapshot)) {
          continue;
        }
        if (snapshot.head_count > 0) {
          newest = std::max(newest, snapshot.head_summary.max_ts);
        } else if (!snapshot.sealed.empty()) {
          newest = std::max(newest, snapshot.sealed.back()->summary().max_ts);
        }
      }
    }
  }
  return newest;
}

void ContinuousQueries::Prime() {
  for (const std::shared_ptr<Cq>& cq : Current()->cqs) {
    const Timestamp newest = NewestSourceTime(*cq);
    if (newest == kNone) continue;
    const WindowPolicy& policy = cq->tracker.policy();
    const Timestamp closed = cq->tracker.BucketStart(newest - policy.lateness_ns);
    cq->tracker.Prime(closed - policy.interval_ns);
  }
}

std::vector<ContinuousQueryStats> ContinuousQueries::stats() const {
  std::vector<ContinuousQueryStats> out;
  for (const std::shared_ptr<Cq>& cq : Current()->cqs) {
    const WindowStats window = cq->tracker.stats();
    ContinuousQueryStats s;
    s.db = cq->statement.db;
    s.name = cq->statement.name;
    s.buckets_emitted = cq->buckets_emitted.load();
    s.reemissions = window.reemissions;
    s.late_ignored = window.late_ignored;
    s.too_late = window.too_late;
    s.lines_written = cq->lines_written.load();
    s.run_errors = cq->run_errors.load();
    {
      std::lock_guard lock(cq->error_mu);
      s.last_error = cq->last_error;
    }
    s.watermark = window.watermark;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tidewatch::rules
